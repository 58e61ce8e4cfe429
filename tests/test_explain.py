"""explain: the effective value of a component and every layer that set it, with file:line:col."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccp_gitops.compile.explain import Explanation, explain, parse_path, render_text
from ccp_gitops.compile.resolve import resolve
from ccp_gitops.source.tree import load_source

from .ux_support import FIXTURE, assert_one_located_error, check_golden, line_of, run

BASE = FIXTURE / "base/defaults.yaml"
WEB = FIXTURE / "components/web/component.yaml"
PARENT = FIXTURE / "overlays/parent/env.yaml"
CHILD = FIXTURE / "overlays/child/env.yaml"


def _explain(env: str, path: str | None) -> Explanation:
    source = load_source(FIXTURE)
    return explain(source, resolve(source, env), "web", path)


def _layers(env: str, path: str) -> list[tuple[str, str, int]]:
    [leaf] = _explain(env, path).leaves
    return [(s.layer, s.location.path, s.location.line) for s in leaf.setters]


def test_value_set_in_base_only() -> None:
    assert _layers("child", "env.kubernetes_version") == [("base", "base/defaults.yaml", line_of(BASE, "kubernetes_version"))]
    # images come from base through the release matrix: the component names the key, base the reference
    assert _layers("child", "images.api") == [
        ("component web", "components/web/component.yaml", line_of(WEB, "api: web")),
        ("release matrix 2026.1", "base/defaults.yaml", line_of(BASE, "web: registry.example.org/web")),
    ]
    [leaf] = _explain("child", "images.api").leaves
    assert leaf.value == "registry.example.org/web:2026.1"
    assert [s.value for s in leaf.setters] == ["web", "registry.example.org/web:2026.1"]


def test_value_set_in_the_component_only() -> None:
    assert _layers("child", "conf.web.conf.DEFAULT.workers") == [("component web", "components/web/component.yaml", line_of(WEB, "workers: 2"))]


def test_value_set_in_a_parent_overlay() -> None:
    assert _layers("child", "replicas.api") == [
        ("component web", "components/web/component.yaml", line_of(WEB, "api: 1")),
        ("overlay parent", "overlays/parent/env.yaml", line_of(PARENT, "replicas: {api: 2}")),
    ]
    assert _layers("child", "env.namespace") == [
        ("base", "base/defaults.yaml", line_of(BASE, "namespace: fixture")),
        ("overlay parent", "overlays/parent/env.yaml", line_of(PARENT, "namespace: parent")),
    ]


def test_value_set_in_a_child_overlay_lists_every_layer_lowest_first() -> None:
    assert _layers("child", "conf.web.conf.token.expiration") == [
        ("component web", "components/web/component.yaml", line_of(WEB, "expiration: 3600")),
        ("overlay parent", "overlays/parent/env.yaml", line_of(PARENT, "expiration: 7200")),
        ("overlay child", "overlays/child/env.yaml", line_of(CHILD, "expiration: 900")),
    ]
    [leaf] = _explain("child", "conf.web.conf.token.expiration").leaves
    assert leaf.value == 900 and [s.value for s in leaf.setters] == [3600, 7200, 900]
    # the same component in the parent environment stops at the parent
    assert [layer for layer, _, _ in _layers("parent", "conf.web.conf.token.expiration")] == ["component web", "overlay parent"]


def test_whole_component_names_the_last_layer_of_every_leaf() -> None:
    lines = render_text(_explain("child", None))
    assert f"conf.web.conf.token.expiration = 900  (overlays/child/env.yaml:{line_of(CHILD, 'expiration: 900')}:" in "\n".join(lines)
    assert all(" = " in line and line.endswith(")") for line in lines)
    # a mapping path lists its leaves the same way
    assert render_text(_explain("child", "conf.web.conf")) == [l for l in lines if l.startswith("conf.web.conf.")]


def test_dotted_paths_take_the_longest_key_that_exists_and_backtrack() -> None:
    tree = {"conf": {"web.conf": {"token": {"expiration": 1}}}, "a.b": {"c": 1}, "a": {"b": {"d": 2}}}
    assert parse_path("conf.web.conf.token.expiration", tree) == ("conf", "web.conf", "token", "expiration")
    assert parse_path("a.b.c", tree) == ("a.b", "c")
    assert parse_path("a.b.d", tree) == ("a", "b", "d")
    assert parse_path("a.b.e", tree) is None
    assert parse_path("", tree) == ()


@pytest.mark.parametrize(
    "args,golden",
    [
        (["child", "web"], "child-web"),
        (["child", "web", "conf.web.conf.token.expiration"], "child-web-token-expiration"),
        (["child", "web", "images.api"], "child-web-images-api"),
        (["env/child", "web", "env.region"], "child-web-env-region"),
    ],
)
def test_goldens(args: list[str], golden: str) -> None:
    text = run("explain", *args, "--source", str(FIXTURE))
    assert text.returncode == 0, text.stderr
    check_golden(f"explain/{golden}.txt", text.stdout)
    as_json = run("explain", *args, "--source", str(FIXTURE), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    check_golden(f"explain/{golden}.json", as_json.stdout)
    data = json.loads(as_json.stdout)
    assert data["environment"] == "child" and data["component"] == "web"
    assert all(v["layers"][-1]["value"] == v["value"] for v in data["values"] if v["layers"] and "value" in v["layers"][-1])


def test_bundled_catalogue_keystone_token_expiration() -> None:
    """The issue's own example, on the bundled catalogue: a key with dots in a file name."""
    proc = run("explain", "prod", "keystone", "conf.keystone.conf.token.expiration")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("conf.keystone.conf.token.expiration = ")
    assert "component keystone  components/keystone/component.yaml:" in proc.stdout


def test_unknown_component_did_you_mean() -> None:
    proc = run("explain", "child", "wbe", "--source", str(FIXTURE))
    assert_one_located_error(proc, "overlays/child/env.yaml:", "unknown component 'wbe'", "did you mean 'web'?")


def test_component_not_enabled(tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    (src / "overlays/solo").mkdir()
    (src / "overlays/solo/env.yaml").write_text("components:\n  db: {}\n")
    proc = run("explain", "solo", "web", "--source", str(src))
    assert_one_located_error(proc, "overlays/solo/env.yaml:1:1:", "component 'web' is not enabled in solo (enabled: db)")


def test_unknown_path_did_you_mean() -> None:
    proc = run("explain", "child", "web", "conf.web.conf.tokn.expiration", "--source", str(FIXTURE))
    assert_one_located_error(proc, "components/web/component.yaml:", "web has no value 'conf.web.conf.tokn.expiration'", "did you mean 'conf.web.conf.token.expiration'?")


def test_unknown_environment() -> None:
    proc = run("explain", "chlid", "web", "--source", str(FIXTURE))
    assert_one_located_error(proc, "overlays:1:1:", "unknown environment 'chlid'", "did you mean 'child'?")


def test_colour_on_a_terminal_and_none_with_no_color() -> None:
    """rich colours when forced to a terminal (FORCE_COLOR) and honours NO_COLOR over it."""
    args = ("explain", "child", "web", "replicas.api", "--source", str(FIXTURE))
    coloured = run(*args, env={"FORCE_COLOR": "1", "TERM": "xterm-256color"}, drop=("NO_COLOR",))
    assert coloured.returncode == 0 and "\x1b[" in coloured.stdout
    plain = run(*args, env={"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": "1"})
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout
    assert plain.stdout == run(*args).stdout
