"""Write stage: compare compiled trees with the env repo, summarise, and commit them in one step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ccp_gitops import __version__
from ccp_gitops.cache.disk import Cache
from ccp_gitops.repo.commit import (
    CommitResult,
    EnvRepo,
    RepoError,
    blob_sha,
    branch_head,
    commit_files,
    open_repo,
    read_blobs,
    tree_entries,
)
from ccp_gitops.compile.fastpath import Outcome, lookup, options, record
from ccp_gitops.model.problems import InputError, Location, Problem
from ccp_gitops.source.inputs import LOCK_FILE, env_name, read_inputs

if TYPE_CHECKING:  # the pipeline is imported only when something must be compiled
    from ccp_gitops.compile.parallel import Progress
    from ccp_gitops.compile.pipeline import Compiled, Session, SessionSpec


@dataclass
class EnvChange:
    """What a compile changes in one environment folder."""

    env: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)  # added/changed/removed -> paths
    delivery: bool = False  # Argo CD / Flux objects under delivery/ changed

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        parts = []
        for verb, names in (("add", self.added), ("update", self.changed), ("remove", self.removed)):
            if names:
                parts.append(f"{verb} {', '.join(names)}")
        if self.delivery:
            existed = any("/delivery/" in p for p in self.files.get("changed", []) + self.files.get("removed", []))
            parts.append("update delivery" if existed else "add delivery")
        return "; ".join(parts) or "no change"


def _components(files: dict[str, str], root: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path, sha in files.items():
        rel = path[len(root) + 1 :]
        if "/" in rel:
            comp, name = rel.split("/", 1)
            out.setdefault(comp, {})[name] = sha
        else:
            out.setdefault("", {})[rel] = sha
    return out


def env_change(compiled: Compiled, old_files: dict[str, str]) -> EnvChange:
    """Per-component and per-file differences between the env repo (path -> blob id) and a new compile."""
    root = compiled.tree.root
    change = EnvChange(compiled.env.name)
    new_files = {path: blob_sha(data).hex() for path, data in compiled.tree.files.items()}
    old, new = _components(old_files, root), _components(new_files, root)
    for comp in sorted(set(old) | set(new)):
        if comp in ("", "delivery"):
            continue
        if comp not in old:
            change.added.append(comp)
        elif comp not in new:
            change.removed.append(comp)
        elif old[comp] != new[comp]:
            change.changed.append(comp)
    new_paths, old_paths = set(new_files), set(old_files)
    change.files = {
        "added": sorted(new_paths - old_paths),
        "removed": sorted(old_paths - new_paths),
        "changed": sorted(p for p in new_paths & old_paths if old_files[p] != new_files[p]),
    }
    change.delivery = any(p.startswith(f"{root}/delivery/") for paths in change.files.values() for p in paths)
    return change


def _lock(raw: bytes | None) -> dict[str, Any]:
    try:
        return dict(json.loads(raw)) if raw else {}
    except ValueError:
        return {}


def _release_warnings(compiled: Compiled, old_lock: dict[str, Any]) -> list[Problem]:
    """On an OpenStack release change: options the source sets that the new release deprecates."""
    from ccp_gitops.checks.stage import upgrade_problems

    old_release = str(old_lock.get("openstack_release") or compiled.env.release)
    docs = {name: Location(f"components/{name}/component.yaml", 1, 1) for name in compiled.env.components}
    return upgrade_problems(compiled.env, old_release, docs)


def _refuse_release_changes(compiled: list[Compiled], old_locks: dict[str, bytes | None]) -> None:
    """A release change, or any compile during an unfinished upgrade, goes through ``ccp-gitops upgrade``."""
    from ccp_gitops.upgrade.guard import compile_problems
    from ccp_gitops.upgrade.state import deployed

    problems = [p for c in compiled for p in compile_problems(c.env, deployed(_lock(old_locks.get(c.tree.root))))]
    if problems:
        raise InputError(problems)


def commit_message(changes: list[EnvChange], compiled: list[Compiled], subject: str | None) -> str:
    heads = ", ".join(f"env/{c.env}" for c in changes)
    subject = subject or f"{heads}: " + " / ".join(c.summary() for c in changes)
    body = []
    for change, comp in zip(changes, compiled):
        body.append(f"env/{change.env} ({comp.env.release}, {comp.object_count} objects):")
        for name in change.added:
            body.append(f"  + {name} {comp.env.components[name].version}")
        for name in change.changed:
            body.append(f"  ~ {name} {comp.env.components[name].version}")
        for name in change.removed:
            body.append(f"  - {name}")
        if change.empty:
            body.append("  (delivery or metadata only)")
    trailers = [f"Source-Commit: {compiled[0].tree.lock['source_commit']}", f"Compiler-Version: {__version__}"]
    return subject + "\n\n" + "\n".join(body) + "\n\n" + "\n".join(trailers) + "\n"


@dataclass
class _Compiler:
    """Compiles on demand (the source is loaded only when some environment needs compiling)."""

    source: Path
    crds: list[Path] | None
    engines: list[str] | None
    cache: Cache | None
    jobs: int
    progress: Progress | None
    session: Session | None = None

    def __call__(self, names: list[str]) -> list[Compiled]:
        if not names:
            return []
        from ccp_gitops.compile.parallel import compile_each
        from ccp_gitops.compile.pipeline import SessionSpec

        self.session = self.session or SessionSpec(self.source, self.crds, True, self.engines, self.cache).open()
        return list(compile_each(self.session, names, self.jobs, self.progress, keep_objects=False))


def _known_unchanged(repo: EnvRepo | None, base: str | None, known: dict[str, Outcome]) -> set[str]:
    """The environments whose recorded outcome is the tree the env repo holds at ``base``."""
    if repo is None or base is None or not known:
        return set()
    locks = read_blobs(repo, [f"{base}:env/{name}/{LOCK_FILE}" for name in known])
    return {name for name, raw in zip(known, locks) if _lock(raw).get("tree_digest") == known[name].tree_digest}


def _ready(repo: EnvRepo, branch: str) -> None:
    """Repair what a failed compile left half done; refuse a checkout that differs from the branch (never "unchanged" over it)."""
    from ccp_gitops.repo.worktree import checked_out, recover_work_tree, refuse_dirty

    recover_work_tree(repo, branch)
    if checked_out(repo, branch):
        refuse_dirty(repo)


def _start_branch(repo: EnvRepo, branch: str, base: str) -> str:
    """A new ``--branch`` over an unchanged environment: the branch starts at the commit that holds it."""
    from ccp_gitops.repo.commit import create_branch

    create_branch(repo, branch, base)
    return f"created branch {branch} at {base[:12]} in {repo.working_tree_dir or repo.git_dir}"


def run_compile(
    source: Path,
    names: list[str],
    repo_path: Path,
    branch: str | None,
    message: str | None,
    dry_run: bool,
    crds: list[Path] | None = None,
    engines: list[str] | None = None,
    cache: Cache | None = None,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    retries: int = 0,
) -> tuple[list[str], list[str]]:
    """Compile ``names`` from ``source`` into the env repo; return (lines to print, warnings).

    With a ``cache``, an environment whose inputs are those of a recorded compile, and whose
    recorded tree the env repo already holds, is reported unchanged without being compiled
    (``fastpath``). ``jobs`` compiles environments in that many processes; ``progress`` is
    called as each environment is done. ``retries``: how often to land again on top of a branch
    that another writer moved meanwhile (shards of one fleet write disjoint folders).
    """
    wanted = list(dict.fromkeys(env_name(n) for n in names))
    before = read_inputs(source, crds, options(True, engines)) if cache is not None else None
    known: dict[str, Outcome] = {}
    if cache is not None and before is not None and repo_path.exists():
        known = lookup(cache, before, wanted)
    compile_now = _Compiler(source, crds, engines, cache, jobs, progress)
    compiled = compile_now([n for n in wanted if n not in known])
    if cache is not None and before is not None and compiled:
        record(cache, before, read_inputs(source, crds, options(True, engines)), compiled)
    branches = {str(c.env.delivery.get("branch", "main")) for c in compiled} | {o.branch for o in known.values()}
    if branch is None and len(branches) > 1:
        raise RepoError(f"these environments deliver from different branches ({', '.join(sorted(branches))}): pass --branch")
    default_branch = branches.pop() if len(branches) == 1 else "main"
    target = branch or default_branch
    repo = None if dry_run and not repo_path.exists() else open_repo(repo_path, create=not dry_run)
    if repo is not None and not dry_run:
        _ready(repo, target)
    head = branch_head(repo, target) if repo is not None else None
    base = head if head is not None else (branch_head(repo, default_branch) if repo is not None else None)
    unchanged = _known_unchanged(repo, base, known)
    for name in unchanged:
        if progress is not None:
            progress(name)
    compiled += compile_now([n for n in known if n not in unchanged])
    by_name = {c.env.name: c for c in compiled}
    warnings = [w for n in wanted for w in (known[n].warnings if n in unchanged else [str(p) for p in by_name[n].warnings])]
    roots = [c.tree.root for c in compiled]
    old_files = tree_entries(repo, base, roots) if repo is not None and base else {}
    old_locks = dict(zip(roots, read_blobs(repo, [f"{base}:{r}/{LOCK_FILE}" for r in roots]))) if repo is not None and base else {}
    _refuse_release_changes([by_name[n] for n in wanted if n not in unchanged], old_locks)
    lines: list[str] = []
    changes: list[EnvChange] = []
    to_write: list[Compiled] = []
    for name in wanted:
        if name in unchanged:
            lines.append(f"env/{name}: unchanged ({known[name].objects} objects)")
            continue
        item = by_name[name]
        root = item.tree.root
        old = {path: sha for path, sha in old_files.items() if path.startswith(root + "/")}
        old_lock = _lock(old_locks.get(root))
        if old and old_lock.get("tree_digest") == item.tree.lock["tree_digest"]:
            lines.append(f"env/{name}: unchanged ({item.object_count} objects)")
            continue
        warnings.extend(str(p) for p in _release_warnings(item, old_lock))
        change = env_change(item, old)
        changes.append(change)
        to_write.append(item)
        if dry_run:
            lines.append(f"env/{name}: would {change.summary()}")
            for kind, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
                lines.extend(f"  {sign} {path}" for path in change.files[kind])
    if dry_run or repo is None:
        if dry_run:
            lines.append("dry run: nothing was written")
        return lines, warnings
    if not to_write:
        if head is None and base is not None and branch is not None:
            lines.append(_start_branch(repo, target, base))
        return lines, warnings
    result: CommitResult = commit_files(
        repo,
        target,
        {c.tree.root: c.tree.files for c in to_write},
        commit_message(changes, to_write, message),
        base_branch=default_branch if target != default_branch else None,
        retries=retries,
    )
    where = repo.working_tree_dir or repo.git_dir
    if result.changed and result.new:
        for change in changes:
            lines.append(f"env/{change.env}: {change.summary()}")
        again = f" (landed on top of {result.retried} other commit{'s' if result.retried > 1 else ''})" if result.retried else ""
        lines.append(f"committed {result.new[:12]} on {target} in {where}{again}")
    else:
        lines.append(f"nothing to commit on {target} in {where}")
    return lines, warnings
