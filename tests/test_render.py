"""Rendering: values reach templates as data and can never add YAML structure to a manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup

from ccp_gitops.compile.assemble import JOB_BASE_NAME
from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.compile.template_env import oslo_ini, quote, yaml_value
from ccp_gitops.model.objects import Obj

SMUGGLE = "x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\nstringData: {a: b}"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("keystone-api", "keystone-api"),
        ("quay.io/airshipit/keystone:2026.1-ubuntu_noble", "quay.io/airshipit/keystone:2026.1-ubuntu_noble"),
        ("a: b", '"a: b"'),
        ("x # comment", '"x # comment"'),
        ("*alias", '"*alias"'),
        ("!!python/object", '"!!python/object"'),
        ("trailing:", '"trailing:"'),
        (SMUGGLE, '"x\\n---\\napiVersion: v1\\nkind: Secret\\nmetadata: {name: stolen}\\nstringData: {a: b}"'),
        (3, "3"),
        (True, "true"),
        (None, "null"),
        ({"a": [1, "b c"]}, '{"a": [1, "b c"]}'),
        (Markup("[1, 2]"), "[1, 2]"),
    ],
)
def test_yaml_value_encoding(value: object, expected: str) -> None:
    assert str(yaml_value(value)) == expected


def test_quote_keeps_numbers_as_strings() -> None:
    assert quote(11211) == '"11211"'
    assert quote(True) == '"true"'


def test_oslo_ini_rendering() -> None:
    text = oslo_ini(
        {
            "token": {"expiration": 3600, "provider": "fernet"},
            "DEFAULT": {"debug": False, "skipped": None, "hosts": ["a", "b"], "multi": {"type": "multistring", "values": ["x", "y"]}},
            "empty": None,
        }
    )
    assert text == "[DEFAULT]\ndebug = false\nhosts = a,b\nmulti = x\nmulti = y\n\n[token]\nexpiration = 3600\nprovider = fernet\n"


def test_newline_in_an_ini_value_cannot_add_an_option() -> None:
    text = oslo_ini({"DEFAULT": {"debug": "true\nadmin_token = evil"}})
    assert "\nadmin_token" not in text
    assert "debug = true\n  admin_token = evil" in text


def test_smuggled_documents_stay_data_in_a_full_compile(source_copy: Path) -> None:
    [clean] = compile_all(source_copy, ["prod"])
    env_file = source_copy / "overlays/prod/env.yaml"
    hostile = SMUGGLE.replace("\n", "\\n")
    env_file.write_text(
        env_file.read_text().replace(
            "replicas: {api: 3}",
            f'replicas: {{api: 3}}\n    conf:\n      keystone.conf:\n        DEFAULT:\n          log_date_format: "{hostile}"',
            1,
        ).replace("replicas: {memcached: 2}", f'replicas: {{memcached: 2}}\n    values:\n      resources: {{requests: {{cpu: "{hostile}"}}}}')
    )
    [dirty] = compile_all(source_copy, ["prod"], check=False)  # the schema check would (rightly) refuse the cpu value
    def names(objs: list[Obj]) -> list[tuple[str, str]]:  # Jobs by base name: their digests change
        return sorted((o.id.kind, o.body["metadata"]["labels"].get(JOB_BASE_NAME, o.id.name)) for o in objs)

    assert names(dirty.objects) == names(clean.objects)
    assert not any(o.id.kind == "Secret" for o in dirty.objects)
    deployment = next(o for o in dirty.objects if o.id.name == "memcached" and o.id.kind == "StatefulSet")
    cpu = deployment.body["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert cpu == SMUGGLE


def test_sh_filter_quotes_one_shell_word() -> None:
    from ccp_gitops.compile.template_env import shell_quote

    assert shell_quote("a b; rm -rf /") == "'a b; rm -rf /'"
    assert isinstance(shell_quote("plain"), Markup)
    two_lines = shell_quote("a\nb")
    assert not isinstance(two_lines, Markup) and str(yaml_value(two_lines)).startswith('"')


def test_a_phase_reuses_only_renders_that_never_read_env_upgrade(catalogue: Path, tmp_path: Path) -> None:
    """A release upgrade's phase takes a component's plain render when its templates never read
    ``env.upgrade``; one that reads it (keystone's expand/contract Jobs) is rendered for the phase."""
    from ccp_gitops.cache.disk import Cache
    from ccp_gitops.cache.memo import Memo
    from ccp_gitops.compile.render import Renderer
    from ccp_gitops.compile.resolve import resolve
    from ccp_gitops.source.tree import load_source
    from ccp_gitops.upgrade.phases import upgrade_context

    source = load_source(catalogue)
    memo = Memo(Cache(tmp_path / "cache"))
    renderer = Renderer(source, memo.cache)
    plain = resolve(source, "prod")
    first = {name: renderer.render_cached(plain, comp, memo) for name, comp in plain.components.items()}
    assert "upgrade" in first["keystone"].reads["env"]
    assert "upgrade" not in first["memcached"].reads["env"]
    phase = resolve(source, "prod")
    phase.upgrade = upgrade_context(plain.release, plain.release, 2)
    again = {name: renderer.render_cached(phase, comp, memo) for name, comp in phase.components.items()}
    assert again["memcached"] == first["memcached"]
    assert again["keystone"] != first["keystone"]
    # what the reuse gives is what rendering the phase gives
    for name, comp in phase.components.items():
        fresh = renderer.render(phase, comp)
        assert [m.text for m in fresh.manifests] == [m.text for m in again[name].manifests], name
        assert fresh.files == again[name].files, name
