"""``ccp-gitops upgrade``: start, recompile or advance an environment's release upgrade, one commit per phase."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccp_gitops.compile.pipeline import Compiled, Session, open_session
from ccp_gitops.compile.resolve import resolve
from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.model.problems import InputError, error
from ccp_gitops.repo.commit import CommitResult, EnvRepo, branch_head, open_repo, read_blobs, tree_entries
from ccp_gitops.repo.land import commit_files
from ccp_gitops.repo.worktree import recover_work_tree
from ccp_gitops.repo.write import commit_message, env_change
from ccp_gitops.source.inputs import LOCK_FILE, env_name
from ccp_gitops.upgrade.compile import compile_phase
from ccp_gitops.upgrade.guard import start_problems
from ccp_gitops.upgrade.phases import LAST, phase
from ccp_gitops.upgrade.state import Deployed, UpgradeState, deployed


@dataclass(frozen=True)
class UpgradeRequest:
    """What the operator asked: start an upgrade to ``to``, advance (``next``), or recompile the current phase."""

    env: str
    to: str | None = None
    next: bool = False
    dry_run: bool = False
    message: str | None = None


def read_lock(repo: EnvRepo | None, head: str | None, env: str) -> dict[str, Any]:
    """The environment's lock at ``head`` ({} when there is none)."""
    if repo is None or head is None:
        return {}
    raw = read_blobs(repo, [f"{head}:env/{env}/{LOCK_FILE}"])[0]
    try:
        return dict(json.loads(raw)) if raw else {}
    except ValueError:
        return {}


def target_state(session: Session, request: UpgradeRequest, current: Deployed) -> UpgradeState:
    """The state to compile: phase 1 of a new upgrade, the next phase, or the current one again."""
    env = resolve(session.source, request.env, session.memo.cache)
    if request.to is not None:
        problems = start_problems(env, current, request.to)
        if problems:
            raise InputError(problems)
        assert current.running is not None
        return UpgradeState(current.running, request.to, 1)
    state = current.upgrade
    if state is None or state.complete:
        where = f"env/{request.env}/{LOCK_FILE}"
        what = "its last upgrade is complete" if state is not None else "no upgrade is recorded"
        raise InputError([error(where, 1, 1, f"env/{request.env}: {what}: start one with --to RELEASE")])
    return state.next() if request.next else state


def summary(state: UpgradeState) -> str:
    if state.complete:
        return f"{state.label}: online data migrations completed"
    return f"{state.label}: {phase(state.phase).summary}"


def run_upgrade(spec: SessionSpec, request: UpgradeRequest, repo_path: Path, branch: str | None) -> tuple[list[str], list[str]]:
    """Compile the requested phase and commit it (or show it with ``dry_run``); (lines to print, warnings)."""
    name = env_name(request.env)
    request = UpgradeRequest(name, request.to, request.next, request.dry_run, request.message)
    session = open_session(spec)
    problem = session.unknown(name)
    if problem is not None:
        raise InputError([problem])
    env = resolve(session.source, name, session.memo.cache)
    target = branch or str(env.delivery.get("branch", "main"))
    repo = None if request.dry_run and not repo_path.exists() else open_repo(repo_path, create=not request.dry_run)
    if repo is not None and not request.dry_run:
        recover_work_tree(repo, target)
    head = branch_head(repo, target) if repo is not None else None
    current = deployed(read_lock(repo, head, name))
    state = target_state(session, request, current)
    compiled = compile_phase(session, name, state)
    return _write(repo, head, target, compiled, state, request), [str(p) for p in compiled.warnings]


def _write(repo: EnvRepo | None, head: str | None, target: str, compiled: Compiled, state: UpgradeState, request: UpgradeRequest) -> list[str]:
    root = compiled.tree.root
    old = tree_entries(repo, head, [root]) if repo is not None and head else {}
    change = env_change(compiled, old)
    lines = [f"env/{request.env}: {summary(state)}"]
    if request.dry_run or repo is None:
        lines.append(f"  would {change.summary()}")
        for kind, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
            lines.extend(f"  {sign} {path}" for path in change.files[kind])
        return lines + ["dry run: nothing was written"]
    subject = request.message or f"env/{request.env}: {state.label}"
    result: CommitResult = commit_files(repo, target, {root: compiled.tree.files}, commit_message([change], [compiled], subject))
    where = repo.working_tree_dir or repo.git_dir
    if result.changed and result.new:
        lines.append(f"committed {result.new[:12]} on {target} in {where}")
        if not state.complete:
            step = "--next" if state.phase < LAST else "--next (records the online data migrations completed)"
            lines.append(f"next: once Argo CD / Flux report env/{request.env} synced and healthy, `ccp-gitops upgrade env/{request.env} {step}`")
    else:
        lines.append(f"nothing to commit on {target} in {where}")
    return lines


def plan_text(spec: SessionSpec, request: UpgradeRequest, repo_path: Path | None, branch: str | None) -> str:
    """Every phase of the upgrade ``request`` would start, from the deployed release (the lock's; without an
    env repo, the source's), as text; refused like the upgrade itself."""
    from ccp_gitops.diff.phases import plan_lines, upgrade_plan

    name = env_name(request.env)
    session = open_session(spec)
    problem = session.unknown(name)
    if problem is not None:
        raise InputError([problem])
    env = resolve(session.source, name, session.memo.cache)
    repo = open_repo(repo_path, create=False) if repo_path is not None and repo_path.exists() else None
    head = branch_head(repo, branch or str(env.delivery.get("branch", "main"))) if repo is not None else None
    lock = read_lock(repo, head, name)
    current = deployed(lock) if lock else Deployed(env.release, None)
    assert request.to is not None
    problems = start_problems(env, current, request.to)
    if problems:
        raise InputError(problems)
    assert current.running is not None
    return "\n".join(plan_lines(upgrade_plan(session, name, current.running, request.to)))
