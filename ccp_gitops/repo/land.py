"""Land files on an env repo branch: write the commit, move the branch by compare-and-swap, bring the work tree along.

The plumbing (``repo.commit``) and the work-tree journal (``repo.worktree``) know nothing of each
other; this module orders their steps: repair a half-done work-tree update, refuse a dirty work
tree or a git lock, journal, move the ref, update the work tree.
"""

from __future__ import annotations

import random
import time

from ccp_gitops.repo.commit import BranchMoved, CommitResult, EnvRepo, RepoLike, as_env_repo, branch_head, update_ref, write_commit
from ccp_gitops.repo.worktree import begin_update, checked_out, finish_update, recover_work_tree, refuse_dirty, refuse_locks


def commit_files(
    repo: RepoLike,
    branch: str,
    replace: dict[str, dict[str, bytes]],
    message: str,
    base_branch: str | None = None,
    retries: int = 0,
) -> CommitResult:
    """Replace each folder in ``replace`` (prefix -> path -> bytes) by the given files; commit; CAS the ref.

    ``base_branch`` starts a new ``branch`` from another branch's head (for review branches).
    When the branch moved meanwhile (another writer's compare-and-swap won), the commit is made
    again on top of the new head, at most ``retries`` times: the folders in ``replace`` are
    replaced as a whole, so writers of disjoint folders (the shards of a fleet) all land, one
    after another, in a linear history.
    """
    env_repo = as_env_repo(repo)
    with_work_tree = checked_out(env_repo, branch)
    if with_work_tree:
        recover_work_tree(env_repo, branch)
        refuse_dirty(env_repo)
    refuse_locks(env_repo, branch)
    for attempt in range(retries + 1):
        try:
            result = _commit_once(env_repo, branch, replace, message, base_branch, with_work_tree)
            return CommitResult(result.branch, result.old, result.new, attempt)
        except BranchMoved:
            if attempt == retries:
                raise
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # desynchronise writers that collided
    raise AssertionError("unreachable")


def _commit_once(
    env_repo: EnvRepo, branch: str, replace: dict[str, dict[str, bytes]], message: str, base_branch: str | None, with_work_tree: bool
) -> CommitResult:
    old = branch_head(env_repo, branch)
    start = old if old is not None else (branch_head(env_repo, base_branch) if base_branch else None)
    new = write_commit(env_repo, start, replace, message)
    if new is None:  # the tree is that of start
        if old is None and start is not None:  # new branch with no change: still create it at the base
            update_ref(env_repo, branch, start, None)
            return CommitResult(branch, None, start)
        return CommitResult(branch, old, None)
    if with_work_tree:
        begin_update(env_repo, new)
    update_ref(env_repo, branch, new, old)
    if with_work_tree:
        finish_update(env_repo, branch, old, new)
    return CommitResult(branch, old, new)
