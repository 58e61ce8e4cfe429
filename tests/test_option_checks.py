"""OpenStack options in overlays and templates are checked against the real option catalogues at compile time."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from ccp_gitops.checks.stage import upgrade_problems
from ccp_gitops.compile.resolve import resolve
from ccp_gitops.source.tree import load_source

from .conftest import cli

PROD = "overlays/prod/env.yaml"


def _set(source: Path, conf_yaml: str) -> int:
    """Add keystone.conf options to the prod overlay; return the line of the first one."""
    env_file = source / PROD
    text = env_file.read_text().replace("replicas: {api: 3}", "replicas: {api: 3}\n    conf:\n      keystone.conf:\n" + conf_yaml, 1)
    env_file.write_text(text)
    return text.splitlines().index("      keystone.conf:") + 3


def test_typo_in_an_overlay_is_an_error_at_its_line(source_copy: Path, tmp_path: Path) -> None:
    line = _set(source_copy, "        token:\n          expiraton: 3600\n")
    proc = cli("compile", "prod", "--source", str(source_copy), "--repo", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert f"{PROD}:{line}:" in proc.stderr
    assert "expiraton" in proc.stderr and "did you mean 'expiration'?" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_wrong_type_is_an_error(source_copy: Path) -> None:
    _set(source_copy, "        token:\n          expiration: soon\n")
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "[token] expiration" in proc.stderr


def test_deprecated_option_is_a_warning_naming_the_replacement(source_copy: Path) -> None:
    """Set a boolean option by a real deprecated name from the keystone catalogue."""
    import json

    catalogue = json.loads((Path(__file__).resolve().parents[1] / "schemas/openstack/2026.1/keystone.conf.json").read_text())
    renamed = [
        (section, option, old)
        for section, options in catalogue["sections"].items()
        for option, spec in options.items()
        for old in spec.get("deprecated_names", [])
        if old.get("section", section) == section and old.get("name") and spec["type"] == "boolean"
    ]
    section, option, old = renamed[0]
    _set(source_copy, f"        {section}:\n          {old['name']}: true\n")
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 0, proc.stderr
    warning = next(line for line in proc.stderr.splitlines() if "warning:" in line and old["name"] in line)
    assert warning.startswith(PROD) and option in warning


def test_template_computed_options_are_checked_too(source_copy: Path) -> None:
    nova = source_copy / "components/nova/files/nova.conf.j2"
    nova.write_text(nova.read_text().replace('"valid_interfaces": ["internal"]', '"valid_interface": ["internal"]'))
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "components/nova/files/nova.conf.j2:1:1: " in proc.stderr and "valid_interface" in proc.stderr


def test_upgrade_reports_options_the_target_release_removed(source_copy: Path) -> None:
    _set(source_copy, "        oslo_policy:\n          enforce_scope: true\n")
    assert cli("validate", "prod", "--source", str(source_copy)).returncode == 0  # fine in 2026.1
    env_file = source_copy / PROD
    env_file.write_text(env_file.read_text() + 'openstack_release: "2026.2"\n')
    source = load_source(source_copy)
    env = resolve(source, "prod")
    docs = {c: source.components[c].doc.locate(()) for c in env.components}
    findings = [str(p) for p in upgrade_problems(env, "2026.1", docs)]
    assert any("enforce_scope" in p and p.startswith(PROD) for p in findings), findings
    proc = cli("validate", "prod", "--source", str(source_copy))  # and the target release refuses it
    assert proc.returncode == 2 and "unknown option 'enforce_scope' in 2026.2" in proc.stderr


def test_diff_flags_options_the_target_release_deprecates(source_copy: Path, tmp_path: Path) -> None:
    import json

    _set(source_copy, "        profiler_jaeger:\n          service_name_prefix: openstack\n")
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    env_file = source_copy / PROD
    env_file.write_text(env_file.read_text() + 'openstack_release: "2026.2"\n')
    proc = cli("diff", "prod", "--format", "json", "--source", str(source_copy), "--repo", str(repo))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, json.loads((Path(__file__).resolve().parents[1] / "schemas/diff-report.schema.json").read_text()))
    risks = report["risks"]
    flagged = [r for r in risks if r["rule"] == "openstack-option-release"]
    assert flagged and "service_name_prefix" in flagged[0]["message"] and flagged[0]["component"] == "keystone"
    assert flagged[0]["message"].startswith(PROD + ":")


def test_upgrade_warns_about_deprecations_of_the_new_release(source_copy: Path, tmp_path: Path) -> None:
    _set(source_copy, "        profiler_jaeger:\n          service_name_prefix: openstack\n")
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    env_file = source_copy / PROD
    env_file.write_text(env_file.read_text() + 'openstack_release: "2026.2"\n')
    proc = cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo))  # a release change is an upgrade
    assert proc.returncode == 2 and "ccp-gitops upgrade env/prod --to 2026.2" in proc.stderr, proc.stderr
    proc = cli("upgrade", "prod", "--to", "2026.2", "--source", str(source_copy), "--repo", str(repo))
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith(PROD) and "warning:" in line and "service_name_prefix" in line for line in proc.stderr.splitlines())
