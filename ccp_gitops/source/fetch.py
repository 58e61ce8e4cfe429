"""Fetch: components from other git repositories, pinned by tag or commit, cached so compiles work offline.

Cache layout, under ``$CCP_CACHE`` (default, and with ``CCP_CACHE=off``: ``$XDG_CACHE_HOME/ccp-gitops``, else
``~/.cache/ccp-gitops``)::

    sources/<sha256 of the URL>/repo.git         bare clone: every branch and tag
    sources/<sha256 of the URL>/trees/<commit>/  the files of one commit (git archive), never changed

A ref that the bare clone already resolves, and a tree already extracted, need no network.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccp_gitops.cache.disk import fetch_root
from ccp_gitops.model.problems import InputError, Location, Problem, closest
from ccp_gitops.source.load import Document

GIT_TIMEOUT_SECONDS = 600
_HEX = re.compile(r"^[0-9a-f]{7,40}$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/\s]+@[^/\s]+:")
# No ext:: or fd:: transports (they run commands), no password prompts.
_GIT_ENV = {"GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh", "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}


@dataclass(frozen=True)
class SourceSpec:
    """One entry of ``sources:`` in ccp-gitops.yaml, with where it is written."""

    name: str
    git: str  # as written in the site file
    url: str  # what git fetches: a local path made absolute against the site
    ref: str
    path: str
    doc: Document
    index: int

    def locate(self, field: str) -> Location:
        return self.doc.locate(("sources", self.index, field))


@dataclass(frozen=True)
class FetchedSource:
    """A source at its resolved commit, extracted in the cache."""

    name: str
    git: str
    ref: str
    commit: str
    path: str
    tree: Path
    fetched: bool  # False when the cache already had everything (no network)

    @property
    def folder(self) -> Path:
        return self.tree / self.path

    def lock_entry(self) -> dict[str, str]:
        return {"git": self.git, "ref": self.ref, "commit": self.commit}


def source_specs(site: Document, site_root: Path) -> list[SourceSpec]:
    """The ``sources:`` of a site file (already schema-checked); duplicate names are problems."""
    specs: list[SourceSpec] = []
    problems: list[Problem] = []
    seen: dict[str, Location] = {}
    for index, entry in enumerate(site.data.get("sources") or []):
        name, git = str(entry["name"]), str(entry["git"])
        spec = SourceSpec(name, git, _url(git, site_root), str(entry["ref"]), str(entry.get("path", "components")).strip("/") or ".", site, index)
        if name in seen:
            problems.append(Problem(spec.locate("name"), f"source {name!r} is listed twice (first at {seen[name]})"))
        seen.setdefault(name, spec.locate("name"))
        specs.append(spec)
    if problems:
        raise InputError(problems)
    return specs


def _url(git: str, site_root: Path) -> str:
    if _URL.match(git):
        return git
    return str((site_root / git).resolve())


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS, env={**os.environ, **_GIT_ENV}
    )


def _first_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    return lines[-1].removeprefix("fatal: ") if lines else f"git exited with {proc.returncode}"


def _rev(bare: Path, expr: str) -> str | None:
    proc = _git("rev-parse", "--verify", "--quiet", "--end-of-options", expr, cwd=bare)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _resolve(bare: Path, spec: SourceSpec) -> str | None:
    """The commit ``spec.ref`` names in the bare clone: a tag, else a commit; a branch is refused."""
    tag = _rev(bare, f"refs/tags/{spec.ref}^{{commit}}")
    if tag is not None:
        return tag
    if _HEX.match(spec.ref):
        commit = _rev(bare, f"{spec.ref}^{{commit}}")
        if commit is not None and commit.startswith(spec.ref):
            return commit
    if _rev(bare, f"refs/heads/{spec.ref}") is not None:
        raise InputError([Problem(spec.locate("ref"), f"source {spec.name!r}: {spec.ref!r} is a branch, which moves; pin a tag or a commit so that compiles are reproducible")])
    return None


def _names(bare: Path, prefix: str) -> list[str]:
    proc = _git("for-each-ref", "--format=%(refname)", prefix, cwd=bare)
    return sorted(line.removeprefix(prefix) for line in proc.stdout.split())


def _update(home: Path, bare: Path, spec: SourceSpec) -> None:
    """Clone the repository bare into the cache, or fetch its new branches and tags."""
    if bare.is_dir():
        proc = _git("fetch", "--quiet", "--tags", "--prune", "origin", "+refs/heads/*:refs/heads/*", cwd=bare)
        if proc.returncode == 0 and _HEX.fullmatch(spec.ref) and len(spec.ref) == 40 and _resolve(bare, spec) is None:
            _git("fetch", "--quiet", "origin", spec.ref, cwd=bare)  # a commit no branch or tag reaches
    else:
        home.mkdir(parents=True, exist_ok=True)
        (home / "url").write_text(spec.url + "\n", encoding="utf-8")
        tmp = Path(tempfile.mkdtemp(prefix="clone-", dir=home))
        proc = _git("clone", "--bare", "--quiet", "--", spec.url, str(tmp / "repo.git"))
        if proc.returncode == 0:
            try:
                os.rename(tmp / "repo.git", bare)
            except OSError:
                pass  # another compile cloned it first
        shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        raise InputError([Problem(spec.locate("git"), f"source {spec.name!r}: cannot fetch {spec.git}: {_first_line(proc)}")])


def _extract(bare: Path, commit: str, tree: Path) -> None:
    """The files of ``commit`` into ``tree``, published by one rename (a reader never sees half a tree)."""
    tree.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{commit[:12]}-", dir=tree.parent))
    try:
        with subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=bare, stdout=subprocess.PIPE, env={**os.environ, **_GIT_ENV}) as proc:
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                archive.extractall(tmp, filter="data")
        if proc.returncode != 0:
            raise OSError(f"git archive {commit} failed in {bare}")
        try:
            os.rename(tmp, tree)
        except OSError:
            if not tree.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_source(spec: SourceSpec, cache: Path) -> FetchedSource:
    """Resolve ``spec.ref`` (from the cache when it can) and extract its commit; InputError when the ref is not there."""
    home = cache / "sources" / hashlib.sha256(spec.url.encode()).hexdigest()
    bare = home / "repo.git"
    commit = _resolve(bare, spec) if bare.is_dir() else None
    fetched = commit is None
    if commit is None:
        _update(home, bare, spec)
        commit = _resolve(bare, spec)
    if commit is None:
        tags = _names(bare, "refs/tags/")
        close = closest(spec.ref, tags)
        hint = f"; did you mean {close!r}?" if close else (f" (tags: {', '.join(tags[-5:])})" if tags else " (it has no tags)")
        raise InputError([Problem(spec.locate("ref"), f"source {spec.name!r}: no tag or commit {spec.ref!r} in {spec.git}{hint}")])
    tree = home / "trees" / commit
    if not tree.is_dir():
        _extract(bare, commit, tree)
        fetched = True
    result = FetchedSource(spec.name, spec.git, spec.ref, commit, spec.path, tree, fetched)
    folder, top = result.folder.resolve(), tree.resolve()
    if not folder.is_dir() or (folder != top and top not in folder.parents):
        raise InputError([Problem(spec.locate("path"), f"source {spec.name!r}: no folder {spec.path!r} in {spec.git} at {spec.ref} ({commit[:12]})")])
    return result


def fetch_all(site: Document, site_root: Path, cache: Path | None = None) -> list[FetchedSource]:
    """Every source of a site, in order; all problems of all sources are raised together."""
    fetched: list[FetchedSource] = []
    problems: list[Problem] = []
    for spec in source_specs(site, site_root):
        try:
            fetched.append(fetch_source(spec, cache or fetch_root(os.environ)))
        except InputError as exc:
            problems.extend(exc.problems)
        except (OSError, subprocess.SubprocessError, tarfile.TarError) as exc:
            problems.append(Problem(spec.locate("git"), f"source {spec.name!r}: cannot fetch {spec.git}: {exc}"))
    if problems:
        raise InputError(problems)
    return fetched


def lock_sources(fetched: list[FetchedSource]) -> dict[str, Any]:
    """The lock file's ``sources`` record: name -> git, ref and the commit used."""
    return {s.name: s.lock_entry() for s in fetched}
