"""Write/commit stage: objects into the env repo, one commit, branch moved by compare-and-swap."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import git
from gitdb import IStream  # type: ignore[import-untyped]

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
TREE_MODE = b"40000"
BLOB_MODE = b"100644"


class RepoError(Exception):
    """The env repo is in a state we must not touch (dirty, moved concurrently, not a repo)."""


@dataclass(frozen=True)
class CommitResult:
    branch: str
    old: str | None
    new: str | None

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old


def open_repo(path: Path, create: bool = True) -> git.Repo:
    """Open the env repo at ``path``; create it (branch main) when missing and ``create``."""
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        if not create:
            raise RepoError(f"{path}: no env repo here")
        path.mkdir(parents=True, exist_ok=True)
        return git.Repo.init(path, initial_branch="main")
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RepoError(f"{path}: exists but is not a git repository") from None


def branch_head(repo: git.Repo, branch: str) -> str | None:
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")  # type: ignore[no-any-return]
    except git.GitCommandError:
        return None


def read_files(repo: git.Repo, rev: str, prefix: str) -> dict[str, bytes]:
    """Every blob under ``prefix`` at ``rev``: path -> bytes (one git process for all of them)."""
    try:
        listing = repo.git.ls_tree("-r", "-z", rev, "--", prefix)
    except git.GitCommandError:
        return {}
    entries = [e for e in listing.split("\0") if e]
    if not entries:
        return {}
    shas, paths = [], []
    for entry in entries:
        meta, path = entry.split("\t", 1)
        shas.append(meta.split()[2])
        paths.append(path)
    proc = subprocess.run(
        ["git", "cat-file", "--batch"], input="\n".join(shas).encode() + b"\n", capture_output=True, check=True, cwd=repo.git_dir
    )
    out, pos, files = proc.stdout, 0, {}
    for path in paths:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        start = header_end + 1
        files[path] = out[start : start + size]
        pos = start + size + 1
    return files


def _store(repo: git.Repo, kind: bytes, data: bytes) -> bytes:
    istream = repo.odb.store(IStream(kind, len(data), BytesIO(data)))
    return istream.binsha  # type: ignore[no-any-return]


def _write_tree(repo: git.Repo, node: dict[str, bytes | dict]) -> bytes:  # type: ignore[type-arg]
    entries = []
    for name, value in node.items():
        if isinstance(value, dict):
            entries.append((name.encode() + b"/", TREE_MODE, name.encode(), _write_tree(repo, value)))
        else:
            entries.append((name.encode(), BLOB_MODE, name.encode(), value))
    entries.sort(key=lambda e: e[0])
    body = b"".join(mode + b" " + name + b"\0" + sha for _, mode, name, sha in entries)
    return _store(repo, b"tree", body)


def _read_tree(repo: git.Repo, rev: str) -> dict[str, bytes | dict]:  # type: ignore[type-arg]
    """The whole tree at ``rev`` as nested dicts of binary shas (blobs are not read)."""
    root: dict[str, bytes | dict] = {}  # type: ignore[type-arg]
    listing = repo.git.ls_tree("-r", "-z", "--full-tree", rev)
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        *dirs, leaf = path.split("/")
        node = root
        for d in dirs:
            node = node.setdefault(d, {})  # type: ignore[assignment]
        node[leaf] = bytes.fromhex(meta.split()[2])
    return root


def dirty_files(repo: git.Repo) -> list[str]:
    if repo.bare:
        return []
    status = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all")
    return sorted({e[3:] for e in status.split("\0") if len(e) > 3})


def _checked_out(repo: git.Repo, branch: str) -> bool:
    if repo.bare:
        return False
    try:
        return repo.git.symbolic_ref("-q", "HEAD") == f"refs/heads/{branch}"  # type: ignore[no-any-return]
    except git.GitCommandError:
        return False


def recover_work_tree(repo: git.Repo, branch: str) -> None:
    """Finish a work-tree update that a killed compile left half done (index still at the parent)."""
    head = branch_head(repo, branch)
    if head is None or not _checked_out(repo, branch):
        return
    status, _, _ = repo.git.diff_files("--quiet", with_extended_output=True, with_exceptions=False)
    if status != 0:  # the user changed files: not ours to touch
        return
    parents = repo.git.rev_list("--parents", "-n", "1", head).split()[1:]
    parent = parents[0] if parents else EMPTY_TREE
    if repo.git.rev_parse(f"{parent}^{{tree}}") == repo.git.rev_parse(f"{head}^{{tree}}"):
        return
    # read-only check: does the index still hold the parent's tree?
    status, _, _ = repo.git.diff_index("--cached", "--quiet", parent, "--", with_extended_output=True, with_exceptions=False)
    if status == 0:
        try:
            repo.git.read_tree("-m", "-u", parent, head)
        except git.GitCommandError:
            pass  # another compile holds the index and is doing this very update


def commit_files(
    repo: git.Repo,
    branch: str,
    replace: dict[str, dict[str, bytes]],
    message: str,
    base_branch: str | None = None,
) -> CommitResult:
    """Replace each folder in ``replace`` (prefix -> path -> bytes) by the given files; commit; CAS the ref.

    ``base_branch`` starts a new ``branch`` from another branch's head (for review branches).
    """
    old = branch_head(repo, branch)
    start = old if old is not None else (branch_head(repo, base_branch) if base_branch else None)
    checked_out = _checked_out(repo, branch)
    if checked_out:
        recover_work_tree(repo, branch)
        dirty = dirty_files(repo)
        if dirty:
            raise RepoError("the env repo work tree has uncommitted changes; commit or discard them first:\n  " + "\n  ".join(dirty))
    root: dict[str, bytes | dict] = _read_tree(repo, start) if start else {}  # type: ignore[type-arg]
    for prefix, files in replace.items():
        parts = prefix.split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        sub: dict[str, bytes | dict] = {}  # type: ignore[type-arg]
        for path, data in sorted(files.items()):
            rel = path[len(prefix) + 1 :] if path.startswith(prefix + "/") else path
            *dirs, leaf = rel.split("/")
            target = sub
            for d in dirs:
                target = target.setdefault(d, {})  # type: ignore[assignment]
            target[leaf] = _store(repo, b"blob", data)
        if sub:
            node[parts[-1]] = sub
        else:
            node.pop(parts[-1], None)
    tree = _write_tree(repo, root).hex()
    if start is not None and repo.git.rev_parse(f"{start}^{{tree}}") == tree:
        if old is None:  # new branch with no change: still create it at the base
            _update_ref(repo, branch, start, None)
            return CommitResult(branch, None, start)
        return CommitResult(branch, old, None)
    env = {**os.environ}
    env.setdefault("GIT_AUTHOR_NAME", "ccp-gitops")
    env.setdefault("GIT_AUTHOR_EMAIL", "ccp-gitops@localhost")
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
    args = ["git", "commit-tree", tree] + (["-p", start] if start else [])
    new = subprocess.run(args, input=message.encode(), capture_output=True, check=True, cwd=repo.git_dir, env=env).stdout.decode().strip()
    _update_ref(repo, branch, new, old)
    if checked_out:
        if old is None:
            repo.git.read_tree("--reset", "-u", new)
        else:
            repo.git.read_tree("-m", "-u", old, new)
    return CommitResult(branch, old, new)


def _update_ref(repo: git.Repo, branch: str, new: str, old: str | None) -> None:
    try:
        repo.git.update_ref("-m", "ccp-gitops compile", f"refs/heads/{branch}", new, old or ZERO)
    except git.GitCommandError:
        current = branch_head(repo, branch)
        raise RepoError(
            f"branch {branch!r} moved while compiling (expected {(old or 'no branch')[:12]}, found {(current or 'none')[:12]}): "
            "another writer committed first; nothing was written — compile again"
        ) from None
