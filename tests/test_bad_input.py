"""Bad input is refused before anything is written: exit 2, one located line per problem, no traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

import pytest

from .conftest import cli
from .helpers import git, head

LOCATED = re.compile(r"^[^:\s][^:]*:\d+:\d+: \S")

Breaker = Callable[[Path], object]  # what a breaker returns is ignored


def _edit(path: str, old: str, new: str) -> Breaker:
    def apply(src: Path) -> None:
        target = src / path
        text = target.read_text()
        assert old in text, f"{old!r} not in {path}"
        target.write_text(text.replace(old, new, 1))

    return apply


def _write(path: str, content: str | bytes) -> Breaker:
    def apply(src: Path) -> None:
        target = src / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)

    return apply


def _symlink(path: str, points_to: str) -> Breaker:
    def apply(src: Path) -> None:
        (src / path).symlink_to(points_to)

    return apply


def _append(path: str, text: str) -> Breaker:
    def apply(src: Path) -> None:
        target = src / path
        target.write_text(target.read_text() + text)

    return apply


PROD = "overlays/prod/env.yaml"
MEMCACHED_T = "components/memcached/templates/memcached.yaml.j2"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"

CASES: dict[str, tuple[Breaker, str, str]] = {
    # name: (breaker, file named in the message, message fragment)
    "malformed-yaml": (_write(PROD, "components: [keystone\n"), PROD, "invalid YAML"),
    "duplicate-key": (_append(PROD, "namespace: other\n"), PROD, "duplicate key 'namespace'"),
    "wrong-type": (_edit(PROD, "features: [ha, tls, monitoring]", "features: 3"), PROD, "features: 3 is not of type 'array'"),
    "unknown-field": (_edit(PROD, "replicas: {api: 3}", "replicaz: {api: 3}"), PROD, "unknown field 'replicaz'"),
    "unknown-top-field": (_append(PROD, "namespaces: x\n"), PROD, "unknown field 'namespaces'"),
    "unknown-component": (_edit(PROD, "  keystone:\n", "  keystonee:\n"), PROD, "did you mean 'keystone'?"),
    "dependency-cycle": (
        _edit("components/memcached/component.yaml", "depends_on: []", "depends_on: [keystone]"),
        "components/",
        "dependency cycle",
    ),
    "unknown-dependency": (
        _edit("components/memcached/component.yaml", "depends_on: []", "depends_on: [mysql]"),
        "components/memcached/component.yaml",
        "unknown component 'mysql'",
    ),
    "undefined-variable": (_append(MEMCACHED_T, "# {{ values.nope }}\n"), MEMCACHED_T, "'nope'"),
    "template-syntax": (_append(MEMCACHED_T, "{% if %}\n"), MEMCACHED_T, "template syntax error"),
    "sandbox-escape": (
        _append(MEMCACHED_T, "# {{ ''.__class__.__mro__[1].__subclasses__() }}\n"),
        MEMCACHED_T,
        "unsafe",
    ),
    "alias-bomb": (_append(PROD, "values:\n  bomb:\n" + "".join("    " + l + "\n" for l in BOMB.splitlines())), PROD, "aliases are not supported"),
    "python-tag": (_append(PROD, "region: !!python/object/apply:os.system [ls]\n"), PROD, "unsupported YAML tag"),
    "name-not-dns": (_edit(MEMCACHED_T, "  name: memcached\n  labels:", "  name: Memcached_1\n  labels:"), MEMCACHED_T, "not a DNS-1123 subdomain"),
    "name-with-slash": (_edit(MEMCACHED_T, "  name: memcached\n  labels:", "  name: a/../b\n  labels:"), MEMCACHED_T, "not a DNS-1123 subdomain"),
    "extends-traversal": (_append(PROD, "extends: ../dev\n"), PROD, "does not match"),
    "component-folder-name": (
        lambda src: (src / "components/memcached").rename(src / "components/Mem_Cached"),
        "components/Mem_Cached",
        "DNS-1123",
    ),
    "symlink-out": (_symlink("components/memcached/templates/evil.yaml.j2", "/etc/hostname"), "components/memcached/templates/evil.yaml.j2", "leaves the source tree"),
    "empty-file": (_write(PROD, ""), PROD, "file is empty"),
    "non-mapping": (_write(PROD, "- a\n- b\n"), PROD, "must hold a YAML mapping"),
    "non-utf8": (_write(PROD, b"namespace: caf\xe9\n"), PROD, "not valid UTF-8"),
    "too-big": (_write(PROD, "# " + "x" * (1 << 20) + "\n"), PROD, "over the limit"),
    "too-deep": (_append(PROD, "values:\n  deep: " + "[" * 100 + "]" * 100 + "\n"), PROD, "nesting deeper"),
    "unknown-value": (_edit(PROD, "replicas: {api: 3}", "replicas: {api: 3}\n    values: {portt: 1}"), PROD, "unknown value"),
    "bad-value-type": (_edit(PROD, "replicas: {api: 3}", "replicas: {api: 3}\n    values: {port: http}"), PROD, "'http' is not of type 'integer'"),
    "unknown-parent": (_append(PROD, "extends: stage\n"), PROD, "unknown parent overlay 'stage'"),
    "extends-cycle": (_append(PROD, "extends: prod\n"), PROD, "cycle"),
    "unknown-image-key": (_edit(PROD, "replicas: {api: 3}", "replicas: {api: 3}\n    images: {api: keystonee}"), PROD, "did you mean 'keystone'?"),
    "unknown-release": (_append(PROD, "openstack_release: '2024.1'\n"), PROD, "not in the release matrix"),
    "duplicate-object": (
        lambda src: (src / "components/memcached/templates/copy.yaml.j2").write_text((src / MEMCACHED_T).read_text()),
        "components/memcached/templates/",
        "duplicate object StatefulSet.apps/openstack/memcached",
    ),
    "disabled-dependency": (_edit(PROD, "replicas: {memcached: 2}", "enabled: false"), PROD, "needs 'memcached'"),
    "schema-violation": (
        _edit(MEMCACHED_T, "          image: {{ images.memcached }}\n", "          image: {{ images.memcached }}\n          imagePullPolicy: Sometimes\n"),
        MEMCACHED_T,
        "StatefulSet.apps/openstack/memcached: spec.template.spec.containers[0].imagePullPolicy",
    ),
    "schema-unknown-field": (
        _edit(MEMCACHED_T, "  replicas: {{ replicas.memcached }}\n", "  replicas: {{ replicas.memcached }}\n  replica: 2\n"),
        MEMCACHED_T,
        "unknown field",
    ),
    "not-an-object": (_append(MEMCACHED_T, "---\n- just\n- a list\n"), MEMCACHED_T, "must be a Kubernetes object"),
    # keys that mean nothing: refused at the line that set them, with the key the templates read
    "replicas-typo": (_edit(PROD, "replicas: {api: 3}", "replicas: {apii: 3}"), PROD, "replicas.apii takes no effect: no workload of keystone reads it; did you mean 'api'?"),
    "replicas-extra": (_edit(PROD, "replicas: {memcached: 2}", "replicas: {memcached: 2, memcache: 2}"), PROD, "replicas.memcache takes no effect"),
    "images-typo": (_edit(PROD, "replicas: {api: 3}", "replicas: {api: 3}\n    images: {db-sync: keystone}"), PROD, "images.db-sync takes no effect: no workload or container of keystone reads it; did you mean 'db_sync'?"),
    "replicas-in-component": (
        _edit("components/memcached/component.yaml", "    memcached: 1\n", "    memcached: 1\n    memcahced: 1\n"),
        "components/memcached/component.yaml:",
        "replicas.memcahced takes no effect",
    ),
    "images-in-component": (
        _edit("components/memcached/component.yaml", "    memcached: memcached\n", "    memcached: memcached\n    exporter: memcached\n"),
        "components/memcached/component.yaml:",
        "images.exporter takes no effect",
    ),
    "conf-unmounted": (
        _edit(PROD, "replicas: {api: 3}", "replicas: {api: 3}\n    conf: {keystone-paste.ini: {pipeline:main: {pipeline: x}}}"),
        PROD,
        "conf file 'keystone-paste.ini' takes no effect: no workload of keystone mounts it",
    ),
    "conf-file-typo": (
        _edit(PROD, "replicas: {api: 3}", "replicas: {api: 3}\n    conf: {keystone.ini: {DEFAULT: {debug: true}}}"),
        PROD,
        "did you mean 'keystone.conf'?",
    ),
    # inputs that would exhaust memory, time or the stack: a located error, never a traceback
    "template-huge-range": (_append(MEMCACHED_T, "# {% for i in range(100000000) %}x{% endfor %}\n"), MEMCACHED_T, "template exceeds a resource bound"),
    "template-recursion": (_append(MEMCACHED_T, "# {% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}\n"), MEMCACHED_T, "template recursion too deep"),
    "template-doubling": (
        _append(MEMCACHED_T, "# {% set ns = namespace(a=[1]) %}{% for i in range(40) %}{% set ns.a = ns.a + ns.a %}{% endfor %}\n"),
        MEMCACHED_T,
        "'+' would make 1,048,576 items",
    ),
    "template-huge-string": (_append(MEMCACHED_T, '# {{ "x" * 100000000 }}\n'), MEMCACHED_T, "'*' would make 100,000,000 items"),
    "template-huge-power": (_append(MEMCACHED_T, "# {{ 7 ** 99999 }}\n"), MEMCACHED_T, "'**' would make a number over 4096 bits"),
    "template-wide-center": (_append(MEMCACHED_T, '# {{ "x" | center(999999999) }}\n'), MEMCACHED_T, "center with an argument over 10,000"),
    "template-wide-ljust": (_append(MEMCACHED_T, '# {{ "x".ljust(999999999) }}\n'), MEMCACHED_T, "str.ljust() with an argument over 10,000"),
    "template-wide-format": (_append(MEMCACHED_T, '# {{ "%0999999999d" % 1 }}\n'), MEMCACHED_T, "format width over 10,000"),
    "template-huge-output": (_append(MEMCACHED_T, '# {% for i in range(100000) %}{{ "x" * 200 }}{% endfor %}\n'), MEMCACHED_T, "rendered output over 16 MiB"),
    "yaml-huge-flow-list": (_append("components/memcached/component.yaml", "x: [" + ",".join(["1"] * 250000) + "]\n"), "components/memcached/component.yaml", "document has more than 200000 nodes"),
    "yaml-deep-mapping": (_append(PROD, "values:\n  deep: " + "{a: " * 80 + "1" + "}" * 80 + "\n"), PROD, "nesting deeper than 64 levels"),
    # problems about a value point at the overlay that set it, not at the component
    "section-in-overlay": (
        _edit(PROD, "  nova:\n", "  nova:\n    conf:\n      nova.conf:\n        bogus_section: {a: 1}\n"),
        f"{PROD}:43:9",
        "unknown section [bogus_section]",
    ),
    "option-in-overlay": (
        _edit(PROD, "DEFAULT: {dhcp_agents_per_network: 2, l3_ha: true}", "DEFAULT: {dhcp_agents_per_network: 2, l3_ha: true}\n        agentt: {report_interval: 5}"),
        f"{PROD}:40:9",
        "unknown section [agentt]",
    ),
    "values-mapping-in-overlay": (
        _edit(PROD, "      storage_size: 20Gi\n", "      storage_size: 20Gi\n      resourcez:\n        requests: {cpu: '1'}\n"),
        f"{PROD}:18:7",
        "values.resourcez: unknown value",
    ),
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An env repo with one good compile of prod from the bundled catalogue."""
    repo = tmp_path_factory.mktemp("baseline") / "repo"
    assert cli("compile", "prod", "--repo", str(repo)).returncode == 0
    return repo


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_located_problems_and_writes_nothing(case: str, source_copy: Path, baseline: Path, tmp_path: Path) -> None:
    breaker, where, fragment = CASES[case]
    breaker(source_copy)
    repo = tmp_path / "repo"
    os.system(f"cp -a {baseline} {repo}")
    before = head(repo)
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source_copy))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("ccp-gitops: ") and "nothing was written" in lines[-1]
    problems = lines[:-1]
    assert problems, proc.stderr
    for line in problems:
        assert LOCATED.match(line), f"not path:line:col: {line!r}"
    assert any(line.startswith(where) and fragment in line for line in problems), proc.stderr
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    "edit,env,fragment",
    [
        (_edit(PROD, "replicas: {api: 3}", "replicas: {api: 3, apii: 1}"), "prod-eu", "replicas.apii takes no effect"),
        (_edit(PROD, "  nova:\n", "  nova:\n    conf:\n      nova.conf:\n        bogus_section: {a: 1}\n"), "prod-eu", "unknown section [bogus_section]"),
        (_edit(PROD, "storage_size: 20Gi", "storage_size: 20Gi\n      storage_sise: 1Gi"), "prod-eu", "values.storage_sise: unknown value"),
    ],
)
def test_a_problem_in_a_parent_overlay_points_at_the_parent(source_copy: Path, edit: Breaker, env: str, fragment: str) -> None:
    edit(source_copy)
    marker = next(w for w in ("apii", "bogus_section", "storage_sise") if w in (source_copy / PROD).read_text())
    lines = (source_copy / PROD).read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if marker in text)
    col = lines[line - 1].index(marker) + 1
    proc = cli("validate", env, "--source", str(source_copy))
    assert proc.returncode == 2, proc.stderr
    assert f"{PROD}:{line}:{col}: " in proc.stderr and fragment in proc.stderr, proc.stderr


def test_every_problem_is_reported_at_once(source_copy: Path, tmp_path: Path) -> None:
    _append(PROD, "namespaces: x\n")(source_copy)
    _edit("overlays/dev/env.yaml", "namespace: openstack-dev", "namespace: Openstack_Dev")(source_copy)
    proc = cli("compile", "prod", "dev", "--repo", str(tmp_path / "r"), "--source", str(source_copy))
    assert proc.returncode == 2
    assert "overlays/prod/env.yaml:" in proc.stderr and "overlays/dev/env.yaml:" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_unknown_environment_suggests_the_closest(tmp_path: Path) -> None:
    proc = cli("compile", "env/prdo", "--repo", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "did you mean 'prod'?" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_value_line_and_column_point_at_the_value(source_copy: Path, tmp_path: Path) -> None:
    _edit(PROD, "replicas: {api: 3}", "replicas: {api: three}")(source_copy)
    proc = cli("compile", "prod", "--repo", str(tmp_path / "r"), "--source", str(source_copy))
    text = (source_copy / PROD).read_text().splitlines()
    line_no = next(i for i, l in enumerate(text, 1) if "three" in l)
    col = text[line_no - 1].index("three") + 1
    assert f"{PROD}:{line_no}:{col}: " in proc.stderr


def test_missing_crd_folder_is_bad_input(tmp_path: Path) -> None:
    proc = cli("compile", "prod", "--crds", str(tmp_path / "nope"), "--repo", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert f"{tmp_path / 'nope'}:1:1: CRD folder does not exist" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_without_crds_custom_resources_are_a_warning(tmp_path: Path) -> None:
    proc = cli("compile", "prod", "--repo", str(tmp_path / "r"), env={"CCP_CRDS": ""})
    assert proc.returncode == 0, proc.stderr
    assert "warning: custom resources not validated (ExternalSecret.external-secrets.io" in proc.stderr


@pytest.mark.parametrize(
    "include",
    ['{% include "/etc/passwd" %}', '{% include "../../../etc/passwd" %}', '{% import "base/templates/../../../../etc/hostname" as x %}'],
)
def test_templates_cannot_read_files_outside_the_source(include: str, source_copy: Path, tmp_path: Path) -> None:
    _append(MEMCACHED_T, include + "\n")(source_copy)
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert proc.stderr.startswith(MEMCACHED_T + ":")
    assert "root:" not in proc.stderr and "Traceback" not in proc.stderr


def test_component_key_with_traversal_is_refused(source_copy: Path) -> None:
    _edit(PROD, "  memcached:\n", '  "../memcached":\n')(source_copy)
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "does not match" in proc.stderr


def test_template_fail_is_a_located_error(source_copy: Path) -> None:
    _append(MEMCACHED_T, "{% if replicas.memcached > 1 %}{{ fail('memcached: at most one replica in this test') }}{% endif %}\n")(source_copy)
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert f"{MEMCACHED_T}:" in proc.stderr and ": memcached: at most one replica in this test" in proc.stderr


def test_subpath_mount_of_a_missing_config_file(source_copy: Path) -> None:
    api = "components/keystone/templates/api.yaml.j2"
    _edit(api, '{% set files = ["keystone.conf", "keystone-uwsgi.ini"] %}', '{% set files = ["keystone.conf", "keystone-uwsgi.ini"] %}{% set volume_files = ["keystone.conf"] %}')(source_copy)
    _edit(api, 'k8s.config_volume("etc", "keystone-etc", files)', 'k8s.config_volume("etc", "keystone-etc", volume_files)')(source_copy)
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "mounts 'keystone-uwsgi.ini' from volume 'etc', which holds only keystone.conf" in proc.stderr


def test_missing_config_file_is_named(source_copy: Path) -> None:
    _edit("components/keystone/templates/secrets.yaml.j2", '"keystone-uwsgi.ini"]', '"keystone-uwsgi.conf"]')(source_copy)
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "keystone has no config file 'keystone-uwsgi.conf'" in proc.stderr
