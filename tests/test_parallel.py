"""Parallel compiles report like sequential ones; the fast emitter and per-document parsing change no byte."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccp_gitops.cache.memo import Memo, _pieces
from ccp_gitops.cli.common import progress_bar
from ccp_gitops.compile.emit import _OutputDumper, dump_yaml, load_all, ordered
from ccp_gitops.compile.parallel import compile_all, compile_envs_slim
from ccp_gitops.compile.spec import SessionSpec

from .conftest import ROOT, cli

sys.path.insert(0, str(ROOT / "benchmarks"))
from fleet import fleet_site  # noqa: E402


def test_parallel_errors_are_the_sequential_errors(tmp_path: Path) -> None:
    site = tmp_path / "site"
    envs = fleet_site(site, 3)
    for name in ("r001", "r003"):
        env_file = site / "overlays" / name / "env.yaml"
        env_file.write_text(env_file.read_text() + "components:\n  nova: {replicas: {api: many}}\n")
    runs = [
        cli("compile", *envs, "--source", str(site), "--repo", str(tmp_path / f"r{jobs}"), "--jobs", str(jobs), env={"CCP_CACHE": "off"})
        for jobs in (1, 2)
    ]
    assert [r.returncode for r in runs] == [2, 2]
    assert runs[0].stderr == runs[1].stderr
    assert "r001" in runs[0].stderr and "r003" in runs[0].stderr
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


def test_parallel_results_come_in_the_order_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    envs = list(reversed(fleet_site(site, 3)))
    assert [c.env.name for c in compile_envs_slim(SessionSpec(site, jobs=2), envs)] == envs


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with progress_bar(5, "compiling") as progress:
        assert progress is None  # pytest's stderr is no terminal
    fake = io.StringIO()
    monkeypatch.setattr(fake, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setenv("NO_COLOR", "1")
    with progress_bar(5, "compiling") as progress:
        assert progress is None
    monkeypatch.delenv("NO_COLOR")
    with progress_bar(1, "compiling") as progress:
        assert progress is None  # one environment: no bar
    with progress_bar(3, "compiling") as progress:
        assert progress is not None
        for name in ("a", "b", "c"):
            progress(name)


def _representer(data: Any) -> bytes:
    text: str = yaml.dump(data, Dumper=_OutputDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16)
    return text.encode()


ODD_STRINGS = [
    "true", "False", "yes", "on", "~", "null", "", " lead", "trail ", "123", "1.5", "0o17", "0x1f", "1e3", ".inf", "2001-12-14",
    "- dash", "a: b", "#hash", "x #y", "@at", "`tick", "'", '"', "a\tb", "a\r\nb", "\u00a0x", "\ufeffbom", "\x07", "a\u2028b",
    "é", "多", "a\n", "a\n\n", "\n", "  a\nb", "a\n  b\n", "---", "...", "*x", "&y", "!tag", "%", "{a}", "[b]", "a,b", "?", "|", ">",
]


@pytest.mark.parametrize("value", ODD_STRINGS)
def test_dump_yaml_equals_the_representer(value: str) -> None:
    data = {"key": value, value or "empty": [value, {"nested": value}], "list": [[value]], "n": None, "t": True, "i": -3, "big": 10**20}
    assert dump_yaml(data) == _representer(data)
    assert dump_yaml(data, {}) == _representer(data)


def test_dump_yaml_falls_back_for_shared_and_other_values() -> None:
    shared = {"a": 1}
    for data in ({"x": shared, "y": shared}, {"f": 1.5, "inf": float("inf")}, {2: "int key", True: "bool key", None: "null"}, ("t",), "top", [1, [2]], {}, []):
        assert dump_yaml(data) == _representer(data)


def test_every_catalogue_object_emits_as_before() -> None:
    resolved: dict[Any, str] = {}
    for env in ("prod", "staging", "dev", "prod-eu"):
        [compiled] = compile_all(ROOT, [env], check=False, engines=["argocd", "flux"])
        for obj in compiled.objects:
            assert dump_yaml(ordered(obj.body), resolved) == _representer(ordered(obj.body)), obj.id


STREAMS = [
    "a: 1\n---\nb: 2\n",
    "---\na: |\n  x\n---\nb: [1, 2]\n---\n",
    "# only a comment\n---\na: 1\n...\nb: 2\n---\nc: 3\n",
    "--- |\nfoo\n---\nbar\n",  # not mappings: parsed whole (an error)
    "a: [1,\n---\n2]\n",  # a flow collection across a separator: parsed whole (an error)
    "%YAML 1.1\n---\na: 1\n",  # directives: parsed whole
    "- a\n---\n- b\n",
    "a: x\n---   \nb: y\n---\tc: z\n",
    "a: 'x\n---\ny'\n",
]


@pytest.mark.parametrize("text", STREAMS)
def test_documents_parsed_in_pieces_equal_the_whole(text: str) -> None:
    assert "".join(_pieces(text)) == text
    try:
        expected: Any = load_all(text)
    except yaml.YAMLError as exc:
        expected = str(exc)
    memo = Memo()
    for _ in range(2):  # parsed, then from the memo
        try:
            found: Any = memo.documents(text, load_all)
        except yaml.YAMLError as exc:
            found = str(exc)
        assert found == expected
