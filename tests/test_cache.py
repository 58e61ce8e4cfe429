"""The disk cache and parallel compiles change nothing but speed: same trees, corrupt entries survived, concurrent writers safe."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccp_gitops.cache.disk import MAGIC, Cache, open_cache
from ccp_gitops.compile.parallel import compile_all

from .conftest import ROOT, cli
from .helpers import git

sys.path.insert(0, str(ROOT / "benchmarks"))
from fleet import fleet_site  # noqa: E402


def _site(tmp_path: Path, regions: int = 3) -> tuple[Path, list[str]]:
    site = tmp_path / "site"
    return site, ["prod", *fleet_site(site, regions)]


def _compile(site: Path, envs: list[str], repo: Path, cache: Path | str, *extra: str) -> str:
    """Compile into ``repo`` through the CLI; return the committed tree id."""
    proc = cli("compile", *envs, "--source", str(site), "--repo", str(repo), *extra, env={"CCP_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    return git(repo, "rev-parse", "main^{tree}")


def test_cold_cached_and_parallel_compiles_write_identical_trees(tmp_path: Path) -> None:
    site, envs = _site(tmp_path)
    cold = _compile(site, envs, tmp_path / "cold", "off")
    cache = tmp_path / "cache"
    assert _compile(site, envs, tmp_path / "parallel-cold-cache", cache, "--jobs", "2") == cold
    assert any(cache.rglob("render/*")), "the first compile filled the cache"
    assert _compile(site, envs, tmp_path / "sequential-warm", cache) == cold
    assert _compile(site, envs, tmp_path / "parallel-warm", cache, "--jobs", "2") == cold
    assert _compile(site, envs, tmp_path / "all-cpus", cache, "--jobs", "0") == cold


def test_incremental_compile_equals_a_cold_compile_of_the_changed_source(tmp_path: Path) -> None:
    site, envs = _site(tmp_path)
    cache = tmp_path / "cache"
    _compile(site, envs, tmp_path / "incremental", cache, "--jobs", "2")
    env_file = site / "overlays/r002/env.yaml"
    env_file.write_text(env_file.read_text().replace("replicas: {horizon: ", "replicas: {horizon: 1"))
    shutil.copytree(ROOT / "components/memcached", site / "components/memcached")  # the site overrides a component
    template = site / "components/memcached/templates/extra.yaml.j2"
    template.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {region: {{ env.region | quote }}}\n")
    incremental = _compile(site, envs, tmp_path / "incremental", cache, "--jobs", "2")
    assert _compile(site, envs, tmp_path / "cold", "off") == incremental


def test_library_compile_with_and_without_cache_is_the_same(tmp_path: Path) -> None:
    site, envs = _site(tmp_path, 2)
    plain = compile_all(site, envs)
    cache = open_cache(tmp_path / "cache")
    for _ in range(2):  # cold, then warm
        cached = compile_all(site, envs, cache=cache, jobs=2)
        assert [c.tree.files for c in cached] == [c.tree.files for c in plain]
        assert [c.object_count for c in cached] == [len(c.objects) for c in plain]
        assert [[str(w) for w in c.warnings] for c in cached] == [[str(w) for w in c.warnings] for c in plain]


def test_a_corrupt_or_unreadable_cache_is_rebuilt(tmp_path: Path) -> None:
    site, envs = _site(tmp_path, 1)
    cache = tmp_path / "cache"
    tree = _compile(site, envs, tmp_path / "first", cache)
    entries = sorted(p for p in cache.rglob("*") if p.is_file())
    assert entries
    for index, entry in enumerate(entries):
        raw = entry.read_bytes()
        if index % 4 == 0:
            entry.write_bytes(raw[: len(raw) // 2])  # truncated
        elif index % 4 == 1:
            entry.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0xFF]))  # one flipped byte
        elif index % 4 == 2:
            entry.write_bytes(b"garbage")
        else:
            entry.unlink()
            entry.mkdir()  # unreadable as a file, and cannot be replaced by one
    assert _compile(site, envs, tmp_path / "second", cache) == tree
    assert _compile(site, envs, tmp_path / "third", cache) == tree  # and again, from what was rebuilt


def test_a_valid_entry_of_another_layout_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("render", "k", b"not a pickle")
    assert cache.get("render", "k") == b"not a pickle"
    assert cache.load("render", "k") is None
    assert cache.get("render", "k") is None  # dropped, to be rebuilt


def test_the_cache_can_be_disabled_and_lives_where_configured(tmp_path: Path) -> None:
    site, envs = _site(tmp_path, 1)
    configured = tmp_path / "configured"
    _compile(site, envs[:1], tmp_path / "r1", configured)
    assert any(configured.iterdir())
    home = tmp_path / "home"
    proc = cli("compile", "prod", "--source", str(site), "--repo", str(tmp_path / "r2"), env={"CCP_CACHE": "off", "HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert not home.exists()


def _hammer(root: str, worker: int, rounds: int, failures: "multiprocessing.Queue[str]") -> None:
    cache = Cache(Path(root))
    payloads = [bytes([n]) * (50_000 + n) for n in range(8)]
    for number in range(rounds):
        key = f"k{number % 8}"
        cache.put("race", key, payloads[number % 8])
        for probe in range(8):
            found = cache.get("race", f"k{probe}")
            if found is not None and found != payloads[probe]:
                failures.put(f"worker {worker} read a torn entry k{probe}")


def test_concurrent_writers_never_expose_a_partial_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    failures: multiprocessing.Queue[str] = context.Queue()
    workers = [context.Process(target=_hammer, args=(str(tmp_path), n, 150, failures)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert failures.empty(), failures.get()
    assert not [p for p in (tmp_path / "race").iterdir() if p.name.startswith(".tmp-")]


def test_two_compiles_sharing_one_cold_cache(tmp_path: Path) -> None:
    site, envs = _site(tmp_path, 2)
    cache = tmp_path / "cache"
    env = {**os.environ, "CCP_CACHE": str(cache), "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ccp_gitops", "compile", *envs, "--source", str(site), "--repo", str(tmp_path / f"r{n}")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    cold = _compile(site, envs, tmp_path / "cold", "off")
    assert git(tmp_path / "r0", "rev-parse", "main^{tree}") == git(tmp_path / "r1", "rev-parse", "main^{tree}") == cold
    assert _compile(site, envs, tmp_path / "warm", cache) == cold


def test_entries_carry_a_checksum(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.store("doc", "key", {"a": [1, 2]})
    raw = (tmp_path / "doc" / "key").read_bytes()
    assert raw.startswith(MAGIC)
    assert cache.load("doc", "key") == {"a": [1, 2]}


@pytest.mark.parametrize("value", ["off", "OFF", "none", "0", ""])
def test_disabling_values(value: str) -> None:
    from ccp_gitops.cache.disk import default_root

    assert default_root({"CCP_CACHE": value}) is None


def test_default_location() -> None:
    from ccp_gitops.cache.disk import default_root

    assert default_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/ccp-gitops")
    assert default_root({"CCP_CACHE": "/y"}) == Path("/y")


@pytest.mark.parametrize("value", ["off", ""])
def test_fetched_sources_still_need_a_folder_when_the_cache_is_off(value: str) -> None:
    """CCP_CACHE=off turns off the compile cache; git sources go to the user's cache folder, not ./off."""
    from ccp_gitops.cache.disk import fetch_root

    assert fetch_root({"CCP_CACHE": value, "XDG_CACHE_HOME": "/x"}) == Path("/x/ccp-gitops")
    assert fetch_root({"CCP_CACHE": "/y"}) == Path("/y")
