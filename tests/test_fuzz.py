"""Property-based fuzzing of the bundled overlays and component definitions through the real CLI.

Each example mutates one input file (a random value of a random type at a random path, a new key,
a value buried in random nesting, random bytes spliced in or instead) and compiles the environment
that reads it into a copy of a committed env repo. Whatever the input: exit 0 or 2, never a
traceback; on exit 2 every problem is located and the env repo is exactly as it was.

`make test` runs a bounded, derandomized number of examples (CCP_FUZZ_EXAMPLES, default 12);
`make fuzz` runs many more with fresh randomness.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ROOT, cli
from .helpers import git

EXAMPLES = int(os.environ.get("CCP_FUZZ_EXAMPLES", "12"))
RANDOM = os.environ.get("CCP_FUZZ_RANDOM") == "1"
LOCATED = re.compile(r"^[^:\s][^:]*:\d+:\d+: \S")
TARGETS = sorted(
    [p.relative_to(ROOT).as_posix() for p in (ROOT / "overlays").glob("*/env.yaml")]
    + [p.relative_to(ROOT).as_posix() for p in (ROOT / "components").glob("*/component.yaml")]
)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True), st.text(max_size=40),
    st.sampled_from(["", "-", "..", "../..", "/etc/passwd", "{{ 7 * 7 }}", "${HOME}", "a: b", "- x", "---", "!!python/object", "\x00", "é", "0x1F", "1e999", "yes"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(data, dict):
        for key, sub in data.items():
            out.extend(_paths(sub, here + (key,)))
    elif isinstance(data, list):
        for i, sub in enumerate(data):
            out.extend(_paths(sub, here + (i,)))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file, new content) for one mutated input file."""
    target = draw(st.sampled_from(TARGETS))
    original = (ROOT / target).read_bytes()
    kind = draw(st.sampled_from(["value", "new-key", "nest", "bytes", "splice"]))
    if kind in ("bytes", "splice"):
        junk = draw(st.binary(min_size=1, max_size=200))
        if kind == "bytes":
            return target, junk
        at = draw(st.integers(min_value=0, max_value=len(original)))
        return target, original[:at] + junk + original[at:]
    data = yaml.safe_load(original)
    path = draw(st.sampled_from(_paths(data)))
    if kind == "value":
        data = _set(data, path, draw(values))
    elif kind == "new-key":
        where = _get(data, path)
        if isinstance(where, dict):
            where[draw(st.text(min_size=1, max_size=16))] = draw(values)
        else:
            data = _set(data, path, {draw(st.text(min_size=1, max_size=16)): where})
    else:
        depth = draw(st.integers(min_value=1, max_value=80))
        wrapped = _get(data, path)
        for level in range(depth):
            wrapped = [wrapped] if draw(st.booleans()) else {f"n{level}": wrapped}
        data = _set(data, path, wrapped)
    return target, yaml.safe_dump(data, allow_unicode=True, width=10_000).encode()


def _env_for(target: str) -> str:
    return target.split("/")[1] if target.startswith("overlays/") else "prod"


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An env repo holding every bundled environment."""
    repo = tmp_path_factory.mktemp("fuzz") / "repo"
    envs = sorted({_env_for(t) for t in TARGETS})
    proc = cli("compile", *envs, "--repo", str(repo))
    assert proc.returncode == 0, proc.stderr
    return repo


def _refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(mutation=mutations())
def test_any_mutated_input_exits_0_or_2_and_leaves_the_repo_alone_on_2(committed: Path, mutation: tuple[str, bytes]) -> None:
    target, content = mutation
    with tempfile.TemporaryDirectory(prefix="ccp-fuzz-") as scratch:
        work = Path(scratch)
        source = work / "source"
        for part in ("base", "components", "overlays"):
            shutil.copytree(ROOT / part, source / part)
        (source / target).write_bytes(content)
        repo = work / "repo"
        subprocess.run(["cp", "-a", str(committed), str(repo)], check=True)
        before = _refs(repo)
        proc = cli("compile", _env_for(target), "--repo", str(repo), "--source", str(source))
        report = f"{target} <- {content[:300]!r}\n{proc.stdout}{proc.stderr}"
        assert proc.returncode in (0, 2), report
        assert "Traceback" not in proc.stderr, report
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == "", report
        if proc.returncode == 2:
            assert _refs(repo) == before, report
            lines = proc.stderr.strip().splitlines()
            assert lines and lines[-1].startswith("ccp-gitops: "), report
            assert all(LOCATED.match(line) for line in lines[:-1]), report
