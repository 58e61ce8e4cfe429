"""Write stage: compile, plan the commit against the env repo (``plan_commit``), then ``apply`` it in one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccp_gitops import __version__
from ccp_gitops.compile.fastpath import Outcome, lookup, options, record
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.problems import InputError, Location, Problem
from ccp_gitops.repo.commit import (
    CommitResult,
    EnvRepo,
    RepoError,
    blob_sha,
    branch_head,
    open_repo,
    read_blobs,
    tree_entries,
)
from ccp_gitops.repo.land import commit_files
from ccp_gitops.source.inputs import LOCK_FILE, env_name, read_inputs

if TYPE_CHECKING:  # the pipeline is imported only when something must be compiled
    from ccp_gitops.compile.parallel import Progress
    from ccp_gitops.compile.pipeline import CompiledTree, Session
    from ccp_gitops.compile.spec import SessionSpec


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


def env_change(compiled: CompiledTree, old_files: dict[str, str]) -> EnvChange:
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


def _release_warnings(compiled: CompiledTree, old_lock: Lock | None) -> list[Problem]:
    """On an OpenStack release change: options the source sets that the new release deprecates."""
    from ccp_gitops.checks.stage import upgrade_problems

    old_release = (old_lock.release if old_lock else None) or compiled.env.release
    docs = {name: Location(f"components/{name}/component.yaml", 1, 1) for name in compiled.env.components}
    return upgrade_problems(compiled.env, old_release, docs)


def _refuse_release_changes(compiled: list[CompiledTree], old_locks: dict[str, bytes | None]) -> None:
    """A release change, or any compile during an unfinished upgrade, goes through ``ccp-gitops upgrade``."""
    from ccp_gitops.upgrade.guard import compile_problems
    from ccp_gitops.upgrade.state import deployed

    locks = {c.tree.root: Lock.read(old_locks.get(c.tree.root)) for c in compiled}
    problems = [p for c in compiled for p in compile_problems(c.env, deployed(_raw(locks[c.tree.root])))]
    if problems:
        raise InputError(problems)


def _raw(lock: Lock | None) -> dict[str, Any]:
    return lock.raw if lock is not None else {}


def commit_message(changes: list[EnvChange], compiled: list[CompiledTree], subject: str | None) -> str:
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


@dataclass(frozen=True)
class WriteOptions:
    """Where a compile goes: the env repo, its branch (default: the overlays'), the commit subject, or a dry run."""

    repo: Path
    branch: str | None = None
    message: str | None = None
    dry_run: bool = False
    retries: int = 0  # land again on top of a branch another writer moved meanwhile (the shards of a fleet)


@dataclass(frozen=True)
class EnvOutcome:
    """One environment of a compile: unchanged (``change`` is None), or what it changes."""

    env: str
    objects: int
    change: EnvChange | None = None


@dataclass(frozen=True)
class CommitPlan:
    """What a compile commits, worked out against the env repo; nothing is written until ``apply``."""

    repo: EnvRepo | None  # None: a dry run without an env repo
    branch: str
    base_branch: str | None  # a new branch starts from this branch's head
    outcomes: list[EnvOutcome]  # in the order the environments were named
    files: dict[str, dict[str, bytes]]  # env folder -> its files, for every changed environment
    message: str
    warnings: list[str]
    start_at: str | None = None  # nothing changes on a new --branch: it starts at this commit


@dataclass(frozen=True)
class CompileReport:
    """The result of ``run_compile``: the plan, and the commit unless it was a dry run or nothing changed."""

    plan: CommitPlan
    dry_run: bool
    commit: CommitResult | None = None


@dataclass
class _Compiler:
    """Compiles on demand (the source is loaded only when some environment needs compiling)."""

    spec: SessionSpec
    progress: Progress | None
    session: Session | None = None

    def __call__(self, names: list[str]) -> list[CompiledTree]:
        if not names:
            return []
        from ccp_gitops.compile.parallel import compile_each_slim
        from ccp_gitops.compile.pipeline import open_session

        self.session = self.session or open_session(self.spec)
        return list(compile_each_slim(self.session, names, self.spec.jobs, self.progress))


@dataclass(frozen=True)
class _Base:
    """The env repo and the branch a compile commits to, read once: the commit its changes are measured against."""

    repo: EnvRepo | None
    branch: str
    default_branch: str
    head: str | None  # the branch's head, else (a new branch) the default branch's
    new_branch: bool = False  # --branch names a branch the env repo does not have yet

    @property
    def base_branch(self) -> str | None:
        return self.default_branch if self.branch != self.default_branch else None


def _open_base(write: WriteOptions, branches: set[str]) -> _Base:
    """Pick the branch (one delivery branch, or --branch), open the env repo, finish a killed update, read the head."""
    if write.branch is None and len(branches) > 1:
        raise RepoError(f"these environments deliver from different branches ({', '.join(sorted(branches))}): pass --branch")
    default_branch = branches.pop() if len(branches) == 1 else "main"
    target = write.branch or default_branch
    repo = None if write.dry_run and not write.repo.exists() else open_repo(write.repo, create=not write.dry_run)
    if repo is None:
        return _Base(None, target, default_branch, None)
    if not write.dry_run:
        _ready(repo, target)
    head = branch_head(repo, target)
    return _Base(repo, target, default_branch, head if head is not None else branch_head(repo, default_branch), head is None and write.branch is not None)


def _ready(repo: EnvRepo, branch: str) -> None:
    """Repair what a failed compile left half done; refuse a checkout that differs from the branch (never "unchanged" over it)."""
    from ccp_gitops.repo.worktree import checked_out, recover_work_tree, refuse_dirty

    recover_work_tree(repo, branch)
    if checked_out(repo, branch):
        refuse_dirty(repo)


def _known_unchanged(base: _Base, known: dict[str, Outcome]) -> set[str]:
    """The environments whose recorded outcome is the tree the env repo holds at the base."""
    if base.repo is None or base.head is None or not known:
        return set()
    locks = read_blobs(base.repo, [f"{base.head}:env/{name}/{LOCK_FILE}" for name in known])
    return {name for name, lock in zip(known, map(Lock.read, locks)) if lock is not None and lock.tree_digest == known[name].tree_digest}


def plan_commit(wanted: list[str], compiled: list[CompiledTree], unchanged: dict[str, Outcome], base: _Base, message: str | None) -> CommitPlan:
    """Compare each compiled environment with the env repo at the base: what is unchanged, what changes, the message."""
    by_name = {c.env.name: c for c in compiled}
    warnings = [w for n in wanted for w in (unchanged[n].warnings if n in unchanged else [str(p) for p in by_name[n].warnings])]
    roots = [c.tree.root for c in compiled]
    repo, head = base.repo, base.head
    old_files = tree_entries(repo, head, roots) if repo is not None and head else {}
    old_locks = dict(zip(roots, read_blobs(repo, [f"{head}:{r}/{LOCK_FILE}" for r in roots]))) if repo is not None and head else {}
    _refuse_release_changes([by_name[n] for n in wanted if n not in unchanged], old_locks)
    outcomes: list[EnvOutcome] = []
    changes: list[EnvChange] = []
    to_write: list[CompiledTree] = []
    for name in wanted:
        if name in unchanged:
            outcomes.append(EnvOutcome(name, unchanged[name].objects))
            continue
        item = by_name[name]
        root = item.tree.root
        old = {path: sha for path, sha in old_files.items() if path.startswith(root + "/")}
        old_lock = Lock.read(old_locks.get(root))
        if old and old_lock is not None and old_lock.tree_digest == item.tree.lock["tree_digest"]:
            outcomes.append(EnvOutcome(name, item.object_count))
            continue
        warnings.extend(str(p) for p in _release_warnings(item, old_lock))
        change = env_change(item, old)
        outcomes.append(EnvOutcome(name, item.object_count, change))
        changes.append(change)
        to_write.append(item)
    text = commit_message(changes, to_write, message) if to_write else ""
    files = {c.tree.root: c.tree.files for c in to_write}
    start_at = base.head if base.new_branch and not files else None
    return CommitPlan(repo, base.branch, base.base_branch, outcomes, files, text, warnings, start_at)


def apply(plan: CommitPlan, retries: int = 0) -> CommitResult | None:
    """Commit a plan's files in one commit and move its branch by compare-and-swap; None when there is nothing to write.

    ``retries``: how often to make the commit again on top of a branch another writer moved meanwhile
    (each plan replaces whole environment folders, so shards of one fleet all land).
    """
    if plan.repo is not None and plan.start_at is not None:
        from ccp_gitops.repo.commit import create_branch

        create_branch(plan.repo, plan.branch, plan.start_at)
        return CommitResult(plan.branch, None, plan.start_at)
    if plan.repo is None or not plan.files:
        return None
    # commit_files finishes a half-done work-tree update again, right before it checks the work tree: another
    # compile may have moved the branch since the plan was made (test_two_compiles_racing_on_one_repo)
    return commit_files(plan.repo, plan.branch, plan.files, plan.message, base_branch=plan.base_branch, retries=retries)


def run_compile(spec: SessionSpec, names: list[str], write: WriteOptions, progress: Progress | None = None) -> CompileReport:
    """Compile ``names`` as ``spec`` says, plan the commit against the env repo, and apply it unless a dry run.

    With a disk cache, an environment whose inputs are those of a recorded compile, and whose
    recorded tree the env repo already holds, is reported unchanged without being compiled
    (``fastpath``). ``progress`` is called as each environment is done.
    """
    wanted = list(dict.fromkeys(env_name(n) for n in names))
    settings = options(spec.check, spec.engines)
    before = read_inputs(spec.source_dir, spec.crds, settings) if spec.cache is not None else None
    known = lookup(spec.cache, before, wanted) if spec.cache is not None and before is not None and write.repo.exists() else {}
    compile_now = _Compiler(spec, progress)
    compiled = compile_now([n for n in wanted if n not in known])
    if spec.cache is not None and before is not None and compiled:
        record(spec.cache, before, read_inputs(spec.source_dir, spec.crds, settings), compiled)
    base = _open_base(write, {c.delivery.branch for c in compiled} | {o.branch for o in known.values()})
    unchanged = _known_unchanged(base, known)
    for name in unchanged:
        if progress is not None:
            progress(name)
    compiled += compile_now([n for n in known if n not in unchanged])
    plan = plan_commit(wanted, compiled, {n: known[n] for n in unchanged}, base, write.message)
    return CompileReport(plan, write.dry_run, None if write.dry_run else apply(plan, write.retries))
