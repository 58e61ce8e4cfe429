"""The no-op fast path: 'unchanged' without compiling, and never when any input of the compile changed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from ccp_gitops.cache.disk import open_cache
from ccp_gitops.compile.fastpath import lookup, options, record
from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.source.inputs import read_inputs

from .conftest import ROOT, cli
from .helpers import commit_count

sys.path.insert(0, str(ROOT / "benchmarks"))
from fleet import fleet_site  # noqa: E402


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A site of prod and two regions with their own copy of the CRDs, compiled once with a cache."""
    site = tmp_path / "site"
    envs = ["prod", *fleet_site(site, 2)]
    crds = tmp_path / "crds"
    shutil.copytree(ROOT.parent / "shared" / "crds", crds)
    cache = tmp_path / "cache"
    proc = cli("compile", *envs, "--source", str(site), "--repo", str(tmp_path / "repo"), "--crds", str(crds), env={"CCP_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    return site, crds, envs


def _known(tmp_path: Path, site: Path, crds: Path, engines: list[str] | None = None, check: bool = True) -> set[str]:
    cache = open_cache(tmp_path / "cache")
    assert cache is not None
    return set(lookup(cache, read_inputs(site, [crds], options(check, engines)), ["prod", "r001", "r002"]))


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _create(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _override_component(site: Path, name: str) -> Path:
    target = site / "components" / name
    if not target.exists():
        shutil.copytree(ROOT / "components" / name, target)
    return target


CHANGES: dict[str, tuple[Callable[[Path, Path], object], set[str]]] = {
    # what changed -> the environments whose outcome must be forgotten
    "the region's overlay": (lambda s, c: _append(s / "overlays/r001/env.yaml", "features: [ha]\n"), {"r001"}),
    "the parent overlay": (lambda s, c: _append(s / "overlays/prod/env.yaml", "# a comment\n"), {"prod", "r001", "r002"}),
    "a component template": (
        lambda s, c: _append(_override_component(s, "memcached") / "templates/memcached.yaml.j2", "# x\n"),
        {"prod", "r001", "r002"},
    ),
    "a component definition": (
        lambda s, c: _append(_override_component(s, "horizon") / "component.yaml", "# x\n"),
        {"prod", "r001", "r002"},
    ),
    "a config file template": (
        lambda s, c: _create(_override_component(s, "keystone") / "files/extra.conf.j2", "x\n"),
        {"prod", "r001", "r002"},
    ),
    "the base": (lambda s, c: _create(s / "base/defaults.yaml", "labels: {team: x}\n"), {"prod", "r001", "r002"}),
    "a base macro": (
        lambda s, c: _create(s / "base/templates/more.j2", "{% macro m() %}{% endmacro %}\n"),
        {"prod", "r001", "r002"},
    ),
    "the site file": (lambda s, c: _append(s / "ccp-gitops.yaml", "# x\n"), {"prod", "r001", "r002"}),
    "a CRD": (lambda s, c: _append(c / "external-secrets.io_externalsecrets.yaml", "# x\n"), {"prod", "r001", "r002"}),
    "a new CRD file": (lambda s, c: (c / "more.yaml").write_text("kind: ConfigMap\n"), {"prod", "r001", "r002"}),
    "a new unused component": (
        lambda s, c: shutil.copytree(ROOT / "components/memcached", s / "components/cache2", ignore=shutil.ignore_patterns("*.j2")),
        {"prod", "r001", "r002"},
    ),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_a_change_to_any_input_forgets_the_outcomes_that_read_it(tmp_path: Path, fleet: tuple[Path, Path, list[str]], what: str) -> None:
    site, crds, _ = fleet
    assert _known(tmp_path, site, crds) == {"prod", "r001", "r002"}
    change, forgotten = CHANGES[what]
    change(site, crds)
    assert _known(tmp_path, site, crds) == {"prod", "r001", "r002"} - forgotten


def test_options_are_inputs(tmp_path: Path, fleet: tuple[Path, Path, list[str]]) -> None:
    site, crds, _ = fleet
    assert _known(tmp_path, site, crds, engines=["argocd", "flux"]) == set()
    assert _known(tmp_path, site, crds, check=False) == set()
    other = tmp_path / "other-crds"
    shutil.copytree(crds, other)
    assert _known(tmp_path, site, other) == set()  # same content, other folder: messages name it


def test_the_compiler_is_an_input(tmp_path: Path, fleet: tuple[Path, Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    site, crds, _ = fleet
    monkeypatch.setattr("ccp_gitops.source.inputs.compiler_fingerprint", lambda: "another build")
    assert _known(tmp_path, site, crds) == set()


def test_a_broken_other_overlay_disables_the_fast_path_and_fails_the_compile(tmp_path: Path, fleet: tuple[Path, Path, list[str]]) -> None:
    site, crds, _ = fleet
    _append(site / "overlays/r002/env.yaml", "replicas_typo: 3\n")
    assert _known(tmp_path, site, crds) == set()
    proc = cli("compile", "r001", "--source", str(site), "--repo", str(tmp_path / "repo"), "--crds", str(crds), env={"CCP_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2
    assert "overlays/r002/env.yaml" in proc.stderr


def test_an_edit_during_the_compile_records_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    envs = fleet_site(site, 1)
    cache = open_cache(tmp_path / "cache")
    assert cache is not None
    before = read_inputs(site, None, options(True, None))
    compiled = compile_all(site, envs, cache=cache)
    _append(site / "overlays/r001/env.yaml", "# edited meanwhile\n")
    record(cache, before, read_inputs(site, None, options(True, None)), compiled)
    assert lookup(cache, before, envs) == {}


def _run_cli_in_process(*args: str, cache: Path) -> tuple[int, str, list[str]]:
    """Run the CLI in a fresh interpreter; return its exit code, output and the heavy modules it imported."""
    script = (
        "import sys, io, contextlib\n"
        f"sys.argv = ['ccp-gitops', *{list(args)!r}]\n"
        "from ccp_gitops.cli.main import app\n"
        "out = io.StringIO()\n"
        "code = 0\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        app()\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code or 0\n"
        "heavy = [m for m in ('jinja2', 'jsonschema', 'ruamel.yaml', 'git', 'ccp_gitops.compile.pipeline') if m in sys.modules]\n"
        "print(code, '|'.join(heavy), out.getvalue(), sep='\\n', end='')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**_env(), "CCP_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    code, heavy, output = proc.stdout.split("\n", 2)
    return int(code), output, [m for m in heavy.split("|") if m]


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "NO_COLOR": "1"}


def test_a_noop_compile_loads_no_pipeline(tmp_path: Path, fleet: tuple[Path, Path, list[str]]) -> None:
    site, crds, envs = fleet
    repo = tmp_path / "repo"
    before = commit_count(repo)
    code, output, heavy = _run_cli_in_process("compile", *envs, "--source", str(site), "--repo", str(repo), "--crds", str(crds), cache=tmp_path / "cache")
    assert code == 0
    lines = output.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"env/{e}" for e in envs]
    assert all(re.fullmatch(r"env/[a-z0-9-]+: unchanged \(\d+ objects\)", line) for line in lines), lines
    assert heavy == []
    assert commit_count(repo) == before


def test_help_imports_no_pipeline(tmp_path: Path) -> None:
    code, output, heavy = _run_cli_in_process("--help", cache=tmp_path / "cache")
    assert code == 0 and "compile" in output
    assert heavy == []


def test_one_edited_region_spares_the_others(tmp_path: Path, fleet: tuple[Path, Path, list[str]]) -> None:
    site, crds, envs = fleet
    env_file = site / "overlays/r002/env.yaml"
    env_file.write_text(env_file.read_text().replace("replicas: {horizon: ", "replicas: {horizon: 1"))
    assert _known(tmp_path, site, crds) == {"prod", "r001"}
    proc = cli("compile", *envs, "--source", str(site), "--repo", str(tmp_path / "repo"), "--crds", str(crds), env={"CCP_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert "env/prod: unchanged" in proc.stdout and "env/r001: unchanged" in proc.stdout
    assert "env/r002: update" in proc.stdout


def test_warnings_are_repeated_by_the_fast_path(tmp_path: Path) -> None:
    site = tmp_path / "site"
    envs = fleet_site(site, 1)
    runs = [
        cli("compile", *envs, "--source", str(site), "--repo", str(tmp_path / "repo"), env={"CCP_CACHE": str(tmp_path / "cache"), "CCP_CRDS": ""})
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    assert "custom resources not validated" in runs[0].stderr
    assert runs[1].stderr == runs[0].stderr
    assert "unchanged" in runs[1].stdout


def test_a_repo_changed_behind_the_cache_is_compiled_again(tmp_path: Path, fleet: tuple[Path, Path, list[str]]) -> None:
    site, crds, envs = fleet
    repo = tmp_path / "repo"
    subprocess.run(["git", "-C", str(repo), "rm", "-q", "-r", "env/r001"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "drop r001"], check=True)
    proc = cli("compile", *envs, "--source", str(site), "--repo", str(repo), "--crds", str(crds), env={"CCP_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert "env/r001: add" in proc.stdout
    assert (repo / "env/r001/ccp-gitops.lock.json").is_file()
