"""The env repo's work tree: brought to a new commit through a journal, so any failure is repaired next time.

Moving the branch and updating the checkout are two steps. Before the branch moves, a journal
(``<git dir>/ccp-gitops-checkout``) records the commit the work tree is being brought to; it is
removed once the work tree is there. A compile that finds the journal naming the branch head
(the previous one was killed, ran out of disk space, was denied permission half-way) resets
the work tree to that commit first. A journal naming another commit is stale (the branch never
moved) and is dropped.
"""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.repo.commit import CHECKOUT, EMPTY_TREE, EnvRepo, RepoError, branch_head, git_error

JOURNAL = "ccp-gitops-checkout"


def dirty_files(repo: EnvRepo) -> list[str]:
    """Paths that differ between the work tree (or index) and the checked-out commit."""
    if repo.bare:
        return []
    status = repo.run("status", "--porcelain=v1", "-z", "--untracked-files=all").stdout.decode()
    return sorted({e[3:] for e in status.split("\0") if len(e) > 3})


def checked_out(repo: EnvRepo, branch: str) -> bool:
    if repo.bare:
        return False
    proc = repo.run("symbolic-ref", "-q", "HEAD", check=False)
    return proc.returncode == 0 and proc.stdout.decode().strip() == f"refs/heads/{branch}"


def refuse_locks(repo: EnvRepo, branch: str) -> None:
    """A git lock file in the way (another git process, or one that was killed) stops us before anything moves."""
    for lock in (Path(repo.git_dir) / "index.lock", Path(repo.git_dir) / "refs" / "heads" / f"{branch}.lock"):
        if lock.exists():
            raise RepoError(f"{lock} exists: another git process is using the env repo, or one was killed; remove the lock once none runs")


def refuse_dirty(repo: EnvRepo) -> None:
    dirty = dirty_files(repo)
    if dirty:
        raise RepoError("the env repo work tree has uncommitted changes; commit or discard them first:\n  " + "\n  ".join(dirty))


def begin_update(repo: EnvRepo, new: str) -> None:
    """Journal that the work tree is being brought to ``new`` (before the branch moves: a failure here changes nothing)."""
    try:
        (Path(repo.git_dir) / JOURNAL).write_text(new + "\n")
    except OSError as exc:
        raise RepoError(f"cannot write to the env repo {repo.git_dir}: {exc.strerror or exc}") from None


def finish_update(repo: EnvRepo, branch: str, old: str | None, new: str) -> None:
    """Bring the work tree from ``old`` to ``new`` (the branch already points at ``new``); drop the journal."""
    args = ("--reset", "-u", new) if old is None else ("-m", "-u", old, new)
    proc = repo.run(*CHECKOUT, *args, check=False)
    if proc.returncode != 0:
        raise RepoError(
            f"committed {new[:12]} on {branch}, but updating the work tree {repo.working_tree_dir} failed: {git_error(proc)}; "
            "the next compile finishes it"
        )
    _drop_journal(repo)


def _drop_journal(repo: EnvRepo) -> None:
    try:
        (Path(repo.git_dir) / JOURNAL).unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise RepoError(f"cannot write to the env repo {repo.git_dir}: {exc.strerror or exc}") from None


def _journal(repo: EnvRepo) -> str | None:
    try:
        return (Path(repo.git_dir) / JOURNAL).read_text().strip() or None
    except OSError:
        return None


def recover_work_tree(repo: EnvRepo, branch: str) -> None:
    """Finish a work-tree update that a failed or killed compile left half done."""
    head = branch_head(repo, branch)
    pending = _journal(repo)
    if pending is not None and (head != pending or not checked_out(repo, branch)):
        _drop_journal(repo)  # the branch never moved to it: nothing was left half done
        pending = None
    if head is None or not checked_out(repo, branch):
        return
    if pending is not None:
        refuse_locks(repo, branch)
        proc = repo.run(*CHECKOUT, "--reset", "-u", head, check=False)
        if proc.returncode != 0:
            raise RepoError(f"cannot finish updating the work tree {repo.working_tree_dir} to {head[:12]}: {git_error(proc)}")
        _drop_journal(repo)
        return
    _recover_unjournaled(repo, head)


def _recover_unjournaled(repo: EnvRepo, head: str) -> None:
    """A kill between the ref update and the work-tree update by a compiler that kept no journal."""
    if repo.run("diff-index", "--cached", "--quiet", head, "--", check=False).returncode == 0:
        return  # the index is at the branch head: nothing was left half done
    if repo.run("diff-files", "--quiet", check=False).returncode != 0:
        return  # the user changed files: not ours to touch
    parents = repo.text("rev-list", "--parents", "-n", "1", head).split()[1:]
    parent = parents[0] if parents else EMPTY_TREE
    if repo.text("rev-parse", f"{parent}^{{tree}}") == repo.text("rev-parse", f"{head}^{{tree}}"):
        return
    # read-only check: does the index still hold the parent's tree?
    if repo.run("diff-index", "--cached", "--quiet", parent, "--", check=False).returncode == 0:
        repo.run(*CHECKOUT, "-m", "-u", parent, head, check=False)  # fails only when another compile does it now
