"""Release upgrades: the staged promotion 2026.1 -> 2026.2 of prod phase by phase, its plan, and the refusals.

Everything runs the real CLI on a real git env repo; every phase's tree is validated (Kubernetes schemas,
the reference CRDs) by the compile itself and built with kustomize here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ccp_gitops.checks.kustomize import build

from .conftest import cli
from .golden import assert_golden
from .helpers import commit_count, git, objects

PROD = "overlays/prod/env.yaml"


def _lock(repo: Path) -> dict[str, Any]:
    return dict(json.loads(git(repo, "show", "main:env/prod/ccp-gitops.lock.json")))


def _checkout(repo: Path, dest: Path) -> Path:
    git(repo, "worktree", "add", "--detach", str(dest), "main")
    return dest


def _built(repo: Path, tmp: Path, label: str) -> list[dict[str, Any]]:
    """kustomize build of the whole environment (and so of every component folder) as committed."""
    tree = _checkout(repo, tmp / label)
    return objects(build(tree / "env/prod"))


def _names(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def _image(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def _job(objs: list[dict[str, Any]], base: str) -> dict[str, Any] | None:
    found = [o for o in objs if o["kind"] == "Job" and re.fullmatch(re.escape(base) + r"-[0-9a-f]{8}", o["metadata"]["name"])]
    return found[0] if found else None


def _upgrade(repo: Path, source: Path, *args: str) -> Any:
    return cli("upgrade", "prod", "--source", str(source), "--repo", str(repo), *args)


def test_prod_upgrades_phase_by_phase(source_copy: Path, tmp_path: Path) -> None:
    repo = tmp_path / "env"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    proc = _upgrade(repo, source_copy, "--to", "2026.2")
    assert proc.returncode == 0, proc.stderr
    # phase 1: infrastructure on the new versions, every OpenStack service still on 2026.1
    lock = _lock(repo)
    assert lock["upgrade"] == {**lock["upgrade"], "from": "2026.1", "to": "2026.2", "phase": 1, "online_migrations": "pending"}
    objs = _built(repo, tmp_path, "p1")
    assert _image(_names(objs, "StatefulSet")["rabbitmq"]).endswith("rabbitmq:4.1.4-management")
    assert _image(_names(objs, "Deployment")["nova-conductor"]).endswith(":2026.1-ubuntu_noble")
    assert _job(objs, "rabbitmq-feature-flags") is not None
    # a second release change now is refused, and so is a plain compile
    again = _upgrade(repo, source_copy, "--to", "2026.2")
    assert again.returncode == 2 and "a second release change before the first completed" in again.stderr
    plain = cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo))
    assert plain.returncode == 2 and "phase 1/5" in plain.stderr

    assert _upgrade(repo, source_copy, "--next").returncode == 0  # phase 2: expand while 2026.1 runs
    objs = _built(repo, tmp_path, "p2")
    for base in ("keystone-db-expand", "nova-db-expand", "neutron-db-expand", "placement-db-expand"):
        job = _job(objs, base)
        assert job is not None and _image(job).endswith(":2026.2-ubuntu_noble"), base
    assert "db_sync --expand" in str(_job(objs, "keystone-db-expand"))
    assert _image(_names(objs, "Deployment")["nova-api"]).endswith(":2026.1-ubuntu_noble")

    assert _upgrade(repo, source_copy, "--next").returncode == 0  # phase 3: control plane, computes pinned
    objs = _built(repo, tmp_path, "p3")
    deployments, daemonsets = _names(objs, "Deployment"), _names(objs, "DaemonSet")
    assert _image(deployments["nova-conductor"]).endswith(":2026.2-ubuntu_noble")
    assert _image(daemonsets["nova-compute"]).endswith(":2026.1-ubuntu_noble")
    assert _image(daemonsets["neutron-openvswitch-agent"]).endswith(":2026.1-ubuntu_noble")
    nova_conf = _names(objs, "ConfigMap")["nova-etc"]["data"]["nova.conf"]
    assert "[upgrade_levels]\ncompute = auto" in nova_conf
    assert _job(objs, "nova-upgrade-check") is not None
    assert _lock(repo)["upgrade"]["held_back"]

    assert _upgrade(repo, source_copy, "--next").returncode == 0  # phase 4: computes and agents
    objs = _built(repo, tmp_path, "p4")
    assert _image(_names(objs, "DaemonSet")["nova-compute"]).endswith(":2026.2-ubuntu_noble")

    assert _upgrade(repo, source_copy, "--next").returncode == 0  # phase 5: unpin, contract, migrations
    objs = _built(repo, tmp_path, "p5")
    assert "upgrade_levels" not in _names(objs, "ConfigMap")["nova-etc"]["data"]["nova.conf"]
    for base in ("keystone-db-contract", "neutron-db-contract", "nova-online-data-migrations", "placement-online-data-migrations"):
        assert _job(objs, base) is not None, base
    assert _lock(repo)["upgrade"]["online_migrations"] == "pending"
    premature = _upgrade(repo, source_copy, "--to", "2027.1")  # migrations not recorded complete yet
    assert premature.returncode == 2 and "online data migrations pending" in premature.stderr

    done = _upgrade(repo, source_copy, "--next")
    assert done.returncode == 0 and "online data migrations completed" in done.stdout
    lock = _lock(repo)
    assert lock["upgrade"]["online_migrations"] == "completed" and lock["openstack_release"] == "2026.2"
    assert _job(_built(repo, tmp_path, "done"), "nova-online-data-migrations") is None
    # the source still says 2026.1: a plain compile is refused until the overlay says what runs
    stale = cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo))
    assert stale.returncode == 2 and "differs from 2026.2" in stale.stderr
    (source_copy / PROD).write_text((source_copy / PROD).read_text() + 'openstack_release: "2026.2"\n')
    proc = cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo))
    assert proc.returncode == 0 and "unchanged" in proc.stdout  # the completed upgrade's tree is that of 2026.2
    assert _lock(repo)["upgrade"]["online_migrations"] == "completed" and commit_count(repo) == 7


def test_upgrade_plan_lists_the_phases_in_order(catalogue: Path, tmp_path: Path) -> None:
    proc = cli("upgrade", "prod", "--to", "2026.2", "--plan", "--source", str(catalogue), "--repo", str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "none").exists()
    heads = [line.split(":")[0] for line in proc.stdout.splitlines() if line.startswith("phase ")]
    assert heads == ["phase 1/5 infrastructure", "phase 2/5 expand", "phase 3/5 control-plane", "phase 4/5 computes", "phase 5/5 finalize"]
    assert_golden("upgrade-catalogue-prod.txt", proc.stdout)


def _add_release(source: Path, release: str, rabbitmq: str | None = None) -> None:
    """A release matrix entry ``release`` (2026.1's images retagged) or a 2026.2 RabbitMQ image."""
    defaults = source / "base/defaults.yaml"
    text = defaults.read_text()
    if rabbitmq is not None:
        text = text.replace("rabbitmq:4.1.4-management", rabbitmq)
    else:
        block = text[text.index('  "2026.1":') : text.index('  "2026.2":')]
        text = text.replace('  "2026.1":', block.replace('"2026.1"', f'"{release}"').replace("2026.1-", f"{release}-") + '  "2026.1":', 1)
    defaults.write_text(text)


def test_unsupported_path_is_refused_with_the_rule(source_copy: Path, tmp_path: Path) -> None:
    _add_release(source_copy, "2025.2")
    (source_copy / PROD).write_text((source_copy / PROD).read_text() + 'openstack_release: "2025.2"\n')
    repo = tmp_path / "env"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    proc = _upgrade(repo, source_copy, "--to", "2026.2")
    assert proc.returncode == 2
    assert "2025.2 -> 2026.2: unsupported upgrade path (skips 2026.1)" in proc.stderr
    assert "N -> N+1 and SLURP -> next SLURP" in proc.stderr and "20220210-release-cadence-adjustment.rst" in proc.stderr
    assert "upgrade through 2025.2 -> 2026.1 -> 2026.2" in proc.stderr
    assert proc.stderr.startswith(f"{PROD}:"), proc.stderr
    assert commit_count(repo) == 1


def test_rabbitmq_minor_skip_is_refused(source_copy: Path, tmp_path: Path) -> None:
    _add_release(source_copy, "2026.2", rabbitmq="rabbitmq:4.3.0-management")
    repo = tmp_path / "env"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    proc = _upgrade(repo, source_copy, "--to", "2026.2")
    assert proc.returncode == 2
    line = next(n for n, text in enumerate((source_copy / "base/defaults.yaml").read_text().splitlines(), 1) if "4.3.0" in text)
    assert f"base/defaults.yaml:{line}:" in proc.stderr
    assert "RabbitMQ 4.1 -> 4.3: skips a minor series" in proc.stderr and "rabbitmq.com/docs/upgrade" in proc.stderr
    assert commit_count(repo) == 1


def test_second_release_change_before_migrations_completed_is_refused(source_copy: Path, tmp_path: Path) -> None:
    repo = tmp_path / "env"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    assert _upgrade(repo, source_copy, "--to", "2026.2").returncode == 0
    proc = _upgrade(repo, source_copy, "--to", "2027.1")
    assert proc.returncode == 2
    assert "a second release change before the first completed" in proc.stderr
    assert "online data migrations pending" in proc.stderr and "nova doc/source/admin/upgrades.rst" in proc.stderr
    assert commit_count(repo) == 2


@pytest.mark.parametrize(("old", "new", "ok"), [
    ("2026.1", "2026.2", True), ("2025.1", "2026.1", True), ("2026.1", "2027.1", True),
    ("2025.2", "2026.2", False), ("2025.1", "2026.2", False), ("2024.1", "2026.1", False), ("2026.2", "2026.1", False),
])
def test_path_rule(old: str, new: str, ok: bool) -> None:
    from ccp_gitops.upgrade.rules import path_problem

    assert (path_problem(old, new) is None) is ok


def test_plan_verb_and_diff_speak_upgrades(source_copy: Path, tmp_path: Path) -> None:
    """`plan --to` prints the same phases; `diff` of a source that changes the release lists them too."""
    proc = cli("plan", "prod", "--to", "2026.2", "--source", str(source_copy))
    assert proc.returncode == 0, proc.stderr
    assert_golden("upgrade-catalogue-prod.txt", proc.stdout)
    repo = tmp_path / "env"
    assert cli("compile", "prod", "--source", str(source_copy), "--repo", str(repo)).returncode == 0
    (source_copy / PROD).write_text((source_copy / PROD).read_text() + 'openstack_release: "2026.2"\n')
    text = cli("diff", "prod", "--source", str(source_copy), "--repo", str(repo))
    assert text.returncode == 0, text.stderr
    section = text.stdout[text.stdout.index("Upgrade phases") : text.stdout.index("Rollout (in sync-wave order)")]
    assert_golden("diff-upgrade-catalogue-prod.txt", section)
    data = json.loads(cli("diff", "prod", "--format", "json", "--source", str(source_copy), "--repo", str(repo)).stdout)
    assert [p["name"] for p in data["upgrade_phases"]] == ["infrastructure", "expand", "control-plane", "computes", "finalize"]
    import jsonschema

    jsonschema.validate(data, json.loads((Path(__file__).resolve().parents[1] / "schemas/diff-report.schema.json").read_text()))
    markdown = cli("diff", "prod", "--format", "markdown", "--source", str(source_copy), "--repo", str(repo)).stdout
    assert "### Upgrade phases" in markdown and "5. **finalize**" in markdown
