"""The diff's parts in isolation: INI parsing and redaction, field paths, risk rules, the markdown splitter."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ccp_gitops.diff.config import compare_file, compare_ini, mask_credentials, parse_ini, secret_option, unified
from ccp_gitops.diff.model import OptionChange
from ccp_gitops.diff.objects import Pair, ParsedObj, field_changes, pairs
from ccp_gitops.diff.render.markdown import Block, code, code_block, split_parts
from ccp_gitops.diff.risks import quantity, risks
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.resid import ResId

# --- config files -----------------------------------------------------------------------------

def test_ini_keeps_repeated_keys_and_continuation_lines() -> None:
    text = "# comment\n[DEFAULT]\ndebug = true\n[filter]\nx = 1\nx = 2\nlong = a\n  b\n; note\n[empty]\n"
    assert parse_ini(text) == {"DEFAULT": {"debug": ["true"]}, "filter": {"x": ["1", "2"], "long": ["a\nb"]}, "empty": {}}


@pytest.mark.parametrize("text", ["a: 1\nb: 2\n", "key = value\n[late]\n", "", "#!/bin/sh\necho hi\n"])
def test_not_ini(text: str) -> None:
    assert parse_ini(text) is None


def test_option_changes_multistring_added_removed() -> None:
    old = {"DEFAULT": {"x": ["1", "2"], "gone": ["y"]}}
    new = {"DEFAULT": {"x": ["1"], "new": ["z"]}, "extra": {"k": ["v"]}}
    assert compare_ini(old, new) == [
        OptionChange("DEFAULT", "x", "change", ["1", "2"], "1"),
        OptionChange("DEFAULT", "new", "add", None, "z"),
        OptionChange("DEFAULT", "gone", "remove", "y", None),
        OptionChange("extra", "k", "add", None, "v"),
    ]


def test_secret_options_and_url_passwords_are_redacted() -> None:
    assert secret_option("password") and secret_option("memcache_secret_key") and secret_option("admin_token")
    assert not secret_option("debug") and not secret_option("token_provider") and not secret_option("key_repository")
    old = {"db": {"password": ["hunter2"], "connection": ["mysql+pymysql://nova:hunter2@db/nova"], "url": ["http://u:p1@h/"]}}
    new = {"db": {"password": ["hunter3"], "connection": ["mysql+pymysql://nova:hunter3@db/nova"], "url": ["http://u:p2@h2/"]}}
    changes = compare_ini(old, new)
    assert changes == [
        OptionChange("db", "password", "change", redacted=True),
        OptionChange("db", "connection", "change", redacted=True),
        OptionChange("db", "url", "change", "http://u:***@h/", "http://u:***@h2/", True),
    ]
    assert "hunter" not in repr(changes)


def test_text_fallback_masks_credentials_and_reports_comment_only_ini_changes() -> None:
    diff = unified("app.yaml", "password: one\nurl: amqp://u:secret1@mq/\n", "password: two\nurl: amqp://u:secret2@mq/\n")
    assert "one" not in diff and "two" not in diff and "secret1" not in diff
    assert "+password: ***" in diff
    change = compare_file("api.conf", "[DEFAULT]\n# old comment\nx = 1\n", "[DEFAULT]\n# new comment\nx = 1\n")
    assert change is not None and change.format == "text" and "+# new comment" in change.unified
    assert mask_credentials("no url here") == "no url here"


# --- objects ----------------------------------------------------------------------------------

def obj(body: dict[str, Any], component: str = "c") -> ParsedObj:
    return ParsedObj(ResId.of(body, "ns"), body, component, "env/x/c/f.yaml")


def deployment(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"annotations": {"a.b/c": "1"}}, "spec": {"containers": [{"name": "api", "image": "r/api:1", "env": [{"name": "A", "value": "1"}]}]}},
    }
    base.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": base}


def test_field_paths_use_item_names_and_quote_odd_keys() -> None:
    old = deployment()
    new = json.loads(json.dumps(old))
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "r/api:2"
    new["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "2"
    new["spec"]["template"]["metadata"]["annotations"]["a.b/c"] = "2"
    rid = ResId("apps", "Deployment", "ns", "d")
    paths = [(c.path, c.old, c.new) for c in field_changes(rid, old, new)]
    assert paths == [
        ('spec.template.metadata.annotations["a.b/c"]', "1", "2"),
        ("spec.template.spec.containers[api].image", "r/api:1", "r/api:2"),
        ("spec.template.spec.containers[api].env[A].value", "1", "2"),
    ]


def test_secret_data_is_redacted_but_reported() -> None:
    rid = ResId("", "Secret", "ns", "s")
    old = {"kind": "Secret", "data": {"password": "b2xk"}, "stringData": {"x": "plain"}}
    new = {"kind": "Secret", "data": {"password": "bmV3", "extra": "eA=="}, "stringData": {"x": "plain2"}}
    changes = field_changes(rid, old, new)
    assert [(c.path, c.op, c.redacted, c.old, c.new) for c in changes] == [
        ("data.password", "change", True, None, None),
        ("data.extra", "add", True, None, None),
        ("stringData.x", "change", True, None, None),
    ]


def test_identical_objects_are_not_pairs() -> None:
    a, b = obj(deployment()), obj(deployment())
    assert pairs({a.id: a}, {b.id: b}) == []


# --- risks ------------------------------------------------------------------------------------

def risk_rules(old: dict[str, Any] | None, new: dict[str, Any] | None, **locks: Any) -> list[tuple[str, str]]:
    before, after = (obj(old) if old else None), (obj(new) if new else None)
    rid = (after or before).id  # type: ignore[union-attr]
    found = risks("x", [Pair(rid, before, after)], locks.get("old_lock"), locks.get("new_lock"), {})
    return [(r.rule, r.severity) for r in found]


def test_workload_selector_is_immutable_and_replicas_to_zero_is_flagged() -> None:
    assert risk_rules(deployment(), deployment(selector={"matchLabels": {"app": "b"}})) == [("immutable-field", "high")]
    old = deployment()
    del old["spec"]["replicas"]  # absent means 1
    assert risk_rules(old, deployment(replicas=0)) == [("scale-to-zero", "medium")]


def test_service_cluster_ip_and_immutable_configmap() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"clusterIP": "None", "selector": {"a": "1"}}}
    moved = json.loads(json.dumps(svc))
    moved["spec"]["clusterIP"] = "10.0.0.10"
    assert risk_rules(svc, moved) == [("immutable-field", "high")]
    moved["spec"]["clusterIP"] = "None"
    moved["spec"]["selector"] = {"a": "2"}
    assert risk_rules(svc, moved) == []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": True, "data": {"k": "1"}}
    assert risk_rules(cm, {**cm, "data": {"k": "2"}}) == [("immutable-field", "high")]


@pytest.mark.parametrize(
    "old, new, rules",
    [
        ("5Gi", "10Gi", []),
        ("5Gi", "5120Mi", []),
        ("10Gi", "5Gi", [("immutable-field", "high")]),
    ],
)
def test_pvc_may_only_grow(old: str, new: str, rules: list[tuple[str, str]]) -> None:
    def pvc(size: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "spec": {"resources": {"requests": {"storage": size}}}}

    assert risk_rules(pvc(old), pvc(new)) == rules
    assert quantity("1Gi") == 2**30 and quantity("nonsense") is None


@pytest.mark.parametrize(
    "body",
    [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openstack"}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "dbs.example.com"}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": {}},
    ],
)
def test_deleting_data_holders_is_high_risk(body: dict[str, Any]) -> None:
    assert risk_rules(body, None) == [("deletion", "high")]


def test_removed_dependency() -> None:
    old_lock = Lock.of({"components": {"db": {"depends_on": []}, "api": {"depends_on": ["db"]}, "web": {"depends_on": ["api"]}}})
    still_used = risks("x", [], old_lock, Lock.of({"components": {"api": {"depends_on": ["db"]}, "web": {"depends_on": ["api"]}}}), {})
    assert [(r.component, r.rule, r.severity) for r in still_used] == [("db", "dependency-removed", "high")]
    assert "api still depend" in still_used[0].message
    all_gone = risks("x", [], old_lock, Lock.of({"components": {"db": {"depends_on": []}}}), {})
    assert [(r.component, r.severity) for r in all_gone] == [("api", "medium")]


def test_external_secret_without_generator_is_not_a_rotation_risk() -> None:
    es = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "e"},
          "spec": {"refreshInterval": "1h", "data": [{"secretKey": "a", "remoteRef": {"key": "k"}}]}}
    changed = json.loads(json.dumps(es))
    changed["spec"]["data"][0]["remoteRef"]["key"] = "k2"
    assert risk_rules(es, changed) == []


# --- markdown splitter ------------------------------------------------------------------------

FENCE = re.compile(r"^(`{3,})(.*)$")


def assert_well_formed(part: str, limit: int) -> None:
    """Under the byte limit, every code block closed, every <details> closed."""
    assert len(part.encode("utf-8")) <= limit
    open_fence = ""
    for line in part.splitlines():
        match = FENCE.match(line)
        if match and not open_fence:
            open_fence = match.group(1)
        elif match and line.strip() == open_fence:
            open_fence = ""
    assert open_fence == "", "a part ends inside a code block"
    assert part.count("<details>") == part.count("</details>")


def code_lines(parts: list[str]) -> list[str]:
    """Every line inside code blocks, across all parts, in order."""
    out: list[str] = []
    for part in parts:
        fence = ""
        for line in part.splitlines():
            match = FENCE.match(line)
            if match and not fence:
                fence = match.group(1)
            elif fence and line == fence:
                fence = ""
            elif fence:
                out.append(line)
    return out


@pytest.mark.parametrize("limit", [2000, 2500, 4096, 65000])
def test_splitter_keeps_parts_under_the_limit_and_code_blocks_whole(limit: int) -> None:
    lines = [f"- old line {i} " + "x" * (i % 90) for i in range(400)]
    lead = "changed `Deployment.apps/ns/d`\n\n"
    blocks = [Block("## heading\n\n"), Block("intro ü\n\n", "<b>sec</b>"), code_block(lines, "diff", "<b>sec</b>", lead), Block("tail\n\n")]
    parts = split_parts(blocks, limit)
    assert "".join(parts).count(lead) == 1
    for index, part in enumerate(parts, 1):
        assert_well_formed(part, limit)
        assert part.startswith(f"<!-- ccp-gitops-diff part {index}/{len(parts)} -->\n")
    assert code_lines(parts) == lines, "nothing is truncated or reordered"
    if limit < 65000:
        assert len(parts) > 1 and "(continued)</summary>" in parts[1]


def test_splitter_splits_an_overlong_line_without_breaking_characters() -> None:
    line = "ä€" * 3000  # 15000 bytes, multibyte characters
    parts = split_parts([code_block([line], "", "s")], 2000)
    for part in parts:
        assert_well_formed(part, 2000)
    assert "".join(code_lines(parts)) == line


def test_code_fences_outgrow_backticks_in_content() -> None:
    block = code_block(["```not a fence end", "x"], "diff", None)
    assert block.text.startswith("````diff\n") and block.text.endswith("````\n\n")
    assert code("a`b") == "``a`b``"
    assert split_parts([block], 2000)[0].count("````") == 2


# --- restart causes ---------------------------------------------------------------------------

def test_restart_causes_name_the_container_and_what_changed() -> None:
    from ccp_gitops.diff.impact import pod_causes

    old = deployment()["spec"]["template"]
    new = json.loads(json.dumps(old))
    container = new["spec"]["containers"][0]
    container["env"][0]["value"] = "2"
    container["resources"] = {"limits": {"memory": "1Gi"}}
    container["args"] = ["--verbose"]
    new["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    old["metadata"]["annotations"]["ccp-gitops.io/config-files"] = "etc/a.conf=1111111111 etc/b.conf=2222222222"
    new["metadata"]["annotations"]["ccp-gitops.io/config-files"] = "etc/a.conf=1111111111 etc/b.conf=3333333333 etc/c.conf=4444444444"
    rid = ResId("apps", "Deployment", "ns", "d")
    causes = [(c.cause, c.detail) for c in pod_causes(rid, {"spec": {"template": old}}["spec"]["template"], new)]
    assert causes == [
        ("config", "etc/b.conf changed"),
        ("config", "etc/c.conf added"),
        ("env", "api: env A"),
        ("resources", 'api: resources (none) -> {"limits":{"memory":"1Gi"}}'),
        ("command", "api: args"),
        ("pod-spec", "spec.volumes"),
    ]
