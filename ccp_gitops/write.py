"""Write stage: compare compiled trees with the env repo, summarise, and commit them in one step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .commit import CommitResult, RepoError, branch_head, commit_files, open_repo, read_files, recover_work_tree
from .check import upgrade_problems
from .layout import LOCK_FILE
from .problems import Location, Problem
from .pipeline import Compiled, compile_all


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
            parts.append("update delivery")
        return "; ".join(parts) or "no change"


def _components(files: dict[str, bytes], root: str) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        rel = path[len(root) + 1 :]
        if "/" in rel:
            comp, name = rel.split("/", 1)
            out.setdefault(comp, {})[name] = data
        else:
            out.setdefault("", {})[rel] = data
    return out


def env_change(compiled: Compiled, old_files: dict[str, bytes]) -> EnvChange:
    """Per-component and per-file differences between the env repo and a new compile."""
    root = compiled.tree.root
    change = EnvChange(compiled.env.name)
    old, new = _components(old_files, root), _components(compiled.tree.files, root)
    for comp in sorted(set(old) | set(new)):
        if comp in ("", "delivery"):
            continue
        if comp not in old:
            change.added.append(comp)
        elif comp not in new:
            change.removed.append(comp)
        elif old[comp] != new[comp]:
            change.changed.append(comp)
    new_paths, old_paths = set(compiled.tree.files), set(old_files)
    change.files = {
        "added": sorted(new_paths - old_paths),
        "removed": sorted(old_paths - new_paths),
        "changed": sorted(p for p in new_paths & old_paths if old_files[p] != compiled.tree.files[p]),
    }
    change.delivery = any(p.startswith(f"{root}/delivery/") for paths in change.files.values() for p in paths)
    return change


def _unchanged(compiled: Compiled, old_files: dict[str, bytes]) -> bool:
    """True when the old lock records the same rendered content (only provenance could differ)."""
    raw = old_files.get(f"{compiled.tree.root}/{LOCK_FILE}")
    if raw is None:
        return False
    try:
        old_lock = json.loads(raw)
    except ValueError:
        return False
    return bool(old_lock.get("tree_digest") == compiled.tree.lock["tree_digest"])


def _old_lock(compiled: Compiled, old_files: dict[str, bytes]) -> dict[str, Any]:
    raw = old_files.get(f"{compiled.tree.root}/{LOCK_FILE}")
    try:
        return dict(json.loads(raw)) if raw else {}
    except ValueError:
        return {}


def _release_warnings(compiled: Compiled, old_files: dict[str, bytes]) -> list[Problem]:
    """On an OpenStack release change: options the source sets that the new release deprecates."""
    old_release = str(_old_lock(compiled, old_files).get("openstack_release") or compiled.env.release)
    docs = {name: Location(f"components/{name}/component.yaml", 1, 1) for name in compiled.env.components}
    return upgrade_problems(compiled.env, old_release, docs)


def commit_message(changes: list[EnvChange], compiled: list[Compiled], subject: str | None) -> str:
    heads = ", ".join(f"env/{c.env}" for c in changes)
    subject = subject or f"{heads}: " + " / ".join(c.summary() for c in changes)
    body = []
    for change, comp in zip(changes, compiled):
        body.append(f"env/{change.env} ({comp.env.release}, {len(comp.objects)} objects):")
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


def run_compile(
    source: Path,
    names: list[str],
    repo_path: Path,
    branch: str | None,
    message: str | None,
    dry_run: bool,
    crds: list[Path] | None = None,
    engines: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Compile ``names`` from ``source`` into the env repo; return (lines to print, warnings)."""
    compiled = compile_all(source, names, crds, engines=engines)
    warnings = [str(w) for c in compiled for w in c.warnings]
    branches = {c.env.delivery.get("branch", "main") for c in compiled}
    if branch is None and len(branches) > 1:
        raise RepoError(f"these environments deliver from different branches ({', '.join(sorted(branches))}): pass --branch")
    default_branch = branches.pop() if len(branches) == 1 else "main"
    target = branch or default_branch
    if dry_run and not repo_path.exists():
        repo = None
    else:
        repo = open_repo(repo_path, create=not dry_run)
        if not dry_run:
            recover_work_tree(repo, target)
    head = branch_head(repo, target) if repo is not None else None
    base = head if head is not None else (branch_head(repo, default_branch) if repo is not None else None)
    lines: list[str] = []
    changes: list[EnvChange] = []
    to_write: list[Compiled] = []
    for item in compiled:
        old_files = read_files(repo, base, item.tree.root) if repo is not None and base else {}
        if old_files and _unchanged(item, old_files):
            lines.append(f"env/{item.env.name}: unchanged ({len(item.objects)} objects)")
            continue
        warnings.extend(str(p) for p in _release_warnings(item, old_files))
        change = env_change(item, old_files)
        changes.append(change)
        to_write.append(item)
        if dry_run:
            lines.append(f"env/{item.env.name}: would {change.summary()}")
            for kind, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
                lines.extend(f"  {sign} {path}" for path in change.files[kind])
    if dry_run or not to_write or repo is None:
        if dry_run:
            lines.append("dry run: nothing was written")
        return lines, warnings
    result: CommitResult = commit_files(
        repo,
        target,
        {c.tree.root: c.tree.files for c in to_write},
        commit_message(changes, to_write, message),
        base_branch=default_branch if target != default_branch else None,
    )
    where = Path(repo.working_tree_dir or repo.git_dir)
    if result.changed and result.new:
        for change in changes:
            lines.append(f"env/{change.env}: {change.summary()}")
        lines.append(f"committed {result.new[:12]} on {target} in {where}")
    else:
        lines.append(f"nothing to commit on {target} in {where}")
    return lines, warnings
