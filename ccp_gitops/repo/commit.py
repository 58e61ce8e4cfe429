"""Write/commit stage: objects into the env repo, one commit, branch moved by compare-and-swap.

Everything goes through git plumbing: new blobs and trees are written in one batch (a pack for
many objects, loose objects for a few), only those the parent commit does not already hold;
``commit-tree`` makes the commit and ``update-ref NEW OLD`` publishes it.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Union

from ccp_gitops.model.errors import CcpError

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
TREE_MODE = b"40000"
BLOB_MODE = b"100644"
# work-tree updates write files in parallel (one worker per CPU): a fleet's first checkout is tens of thousands of files
CHECKOUT = ("-c", "checkout.workers=0", "read-tree")
UNPACK_LIMIT = 100  # fewer new objects are written loose, more as one pack (git's transfer.unpackLimit)
_PACK_TYPES = {b"commit": 1, b"tree": 2, b"blob": 3}

Tree = dict[str, Union[bytes, "Tree"]]  # name -> binary sha of a blob, or a subtree


class RepoError(CcpError):
    """The env repo is in a state we must not touch (dirty, moved concurrently, not a repo)."""


class BranchMoved(RepoError):
    """The compare-and-swap of the branch failed: another writer committed first."""


class RepoLike(Protocol):
    """A repository handle: ours, or a GitPython ``Repo``."""

    @property
    def git_dir(self) -> "str | os.PathLike[str]": ...

    @property
    def working_tree_dir(self) -> "str | os.PathLike[str] | None": ...


@dataclass(frozen=True)
class EnvRepo:
    """The env repo, driven through the ``git`` binary."""

    git_dir: Path
    working_tree_dir: Path | None

    @property
    def bare(self) -> bool:
        return self.working_tree_dir is None

    def run(self, *args: str, data: bytes | None = None, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", "--git-dir", str(self.git_dir), *(["--work-tree", str(self.working_tree_dir)] if self.working_tree_dir else []), *args],
                              input=data, capture_output=True, env=env, cwd=self.working_tree_dir or self.git_dir)
        if check and proc.returncode != 0:
            verb = next((a for a in args if not a.startswith("-") and "=" not in a), "")
            raise RepoError(f"git {verb} failed in {self.working_tree_dir or self.git_dir}: {git_error(proc)}")
        return proc

    def text(self, *args: str) -> str:
        return self.run(*args).stdout.decode().strip()


def git_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    """The line of git's stderr that says what went wrong (its first ``fatal:``/``error:``, else the last)."""
    lines = [line.strip() for line in proc.stderr.decode(errors="replace").splitlines() if line.strip()]
    cause = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1] if lines else f"exit {proc.returncode}")
    return cause.removeprefix("fatal: ").removeprefix("error: ")


@dataclass(frozen=True)
class CommitResult:
    branch: str
    old: str | None
    new: str | None
    retried: int = 0  # how often the branch had moved and the commit was made again on top

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old


def as_env_repo(repo: RepoLike) -> EnvRepo:
    if isinstance(repo, EnvRepo):
        return repo
    work = repo.working_tree_dir
    return EnvRepo(Path(repo.git_dir), Path(work) if work is not None else None)


def open_repo(path: Path, create: bool = True) -> EnvRepo:
    """Open the env repo at ``path``; create it (branch main) when missing and ``create``.

    ``path`` itself must be the repository (its work tree or, bare, its git dir), never a folder
    inside another repository.
    """
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        if not create:
            raise RepoError(f"{path}: no env repo here")
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--initial-branch", "main", str(path)], check=True, capture_output=True)
    here = path.resolve()
    proc = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--absolute-git-dir", "--is-bare-repository", "--show-toplevel"],
        capture_output=True, text=True, env={**os.environ, "GIT_CEILING_DIRECTORIES": str(here.parent)},
    )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 and len(lines) >= 2 and lines[1] == "true":
        lines = lines[:2]  # bare: no top level
    elif proc.returncode != 0 or len(lines) < 3:
        raise RepoError(f"{path}: exists but is not a git repository")
    git_dir = Path(lines[0])
    if lines[1] == "true":
        if git_dir.resolve() != here:
            raise RepoError(f"{path}: exists but is not a git repository")
        return EnvRepo(git_dir, None)
    if Path(lines[2]).resolve() != here:
        raise RepoError(f"{path}: exists but is not a git repository")
    return EnvRepo(git_dir, here)


def branch_head(repo: RepoLike, branch: str) -> str | None:
    proc = as_env_repo(repo).run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def tree_entries(repo: RepoLike, rev: str, prefixes: list[str]) -> dict[str, str]:
    """path -> blob id of every file under ``prefixes`` at ``rev`` (one ``ls-tree``, no blob read)."""
    proc = as_env_repo(repo).run("ls-tree", "-r", "-z", rev, "--", *prefixes, check=False)
    if proc.returncode != 0:
        return {}
    out: dict[str, str] = {}
    for entry in proc.stdout.decode().split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            out[path] = meta.split()[2]
    return out


def read_blobs(repo: RepoLike, names: list[str]) -> list[bytes | None]:
    """The contents of ``names`` (blob ids or ``rev:path``), in one ``cat-file --batch``; None for a missing one."""
    if not names:
        return []
    proc = as_env_repo(repo).run("cat-file", "--batch", data="\n".join(names).encode() + b"\n")
    out, pos = proc.stdout, 0
    found: list[bytes | None] = []
    for _ in names:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if header[-1] == b"missing" or len(header) < 3:
            found.append(None)
            pos = header_end + 1
            continue
        size = int(header[2])
        start = header_end + 1
        found.append(out[start : start + size])
        pos = start + size + 1
    return found


def read_files(repo: RepoLike, rev: str, prefix: str) -> dict[str, bytes]:
    """Every blob under ``prefix`` at ``rev``: path -> bytes (one git process for all of them)."""
    entries = tree_entries(repo, rev, [prefix])
    blobs = read_blobs(repo, list(entries.values()))
    return {path: data for path, data in zip(entries, blobs) if data is not None}


def object_id(kind: bytes, data: bytes) -> bytes:
    """The binary git object id of an object of type ``kind`` (blob, tree, commit) holding ``data``."""
    return hashlib.sha1(kind + b" %d\0" % len(data) + data).digest()


def blob_sha(data: bytes) -> bytes:
    """The binary git object id of a blob of ``data`` (``git hash-object`` prints its hex)."""
    return object_id(b"blob", data)


@dataclass
class _Pending:
    """Objects to write in one batch: binary sha -> (type, content)."""

    objects: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)
    known: set[bytes] = field(default_factory=set)  # ids the repository already holds

    def add(self, kind: bytes, data: bytes) -> bytes:
        sha = object_id(kind, data)
        if sha not in self.known:
            self.objects.setdefault(sha, (kind, data))
        return sha


def _pack(objects: list[tuple[bytes, bytes]]) -> bytes:
    """A version 2 packfile of whole (undeltified) objects."""
    parts = [b"PACK" + struct.pack(">II", 2, len(objects))]
    for kind, data in objects:
        size = len(data)
        byte = (_PACK_TYPES[kind] << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        header.append(byte)
        compressor = zlib.compressobj(1, zlib.DEFLATED, 12, 4)  # a small window: fast for small files
        parts.append(bytes(header) + compressor.compress(data) + compressor.flush())
    body = b"".join(parts)
    return body + hashlib.sha1(body).digest()


def _flush(repo: EnvRepo, pending: _Pending) -> None:
    """Write the pending objects: loose when few (``unpack-objects``), else one pack (``index-pack``)."""
    if not pending.objects:
        return
    objects = list(pending.objects.values())
    if len(objects) < UNPACK_LIMIT:
        repo.run("unpack-objects", "-q", data=_pack(objects))
    else:
        repo.run("index-pack", "--stdin", data=_pack(objects))
    pending.known.update(pending.objects)
    pending.objects.clear()


def _tree_objects(pending: _Pending, node: Tree) -> bytes:
    entries = []
    for name, value in node.items():
        if isinstance(value, dict):
            entries.append((name.encode() + b"/", TREE_MODE, name.encode(), _tree_objects(pending, value)))
        else:
            entries.append((name.encode(), BLOB_MODE, name.encode(), value))
    entries.sort(key=lambda e: e[0])
    return pending.add(b"tree", b"".join(mode + b" " + name + b"\0" + sha for _, mode, name, sha in entries))


def _write_tree(repo: EnvRepo, node: Tree) -> bytes:
    """Write the trees of ``node`` that the repository lacks (its blobs must be written); return the root tree id."""
    pending = _Pending()
    root = _tree_objects(pending, node)
    shas = list(pending.objects)
    listing = repo.run("cat-file", "--batch-check=%(objectname)", data=b"".join(s.hex().encode() + b"\n" for s in shas)).stdout
    pending.known.update(bytes.fromhex(line.decode()) for line in listing.splitlines() if b" " not in line)
    for sha in pending.known:
        pending.objects.pop(sha, None)
    _flush(repo, pending)
    return root


def _read_tree(repo: EnvRepo, rev: str, known: set[bytes]) -> Tree:
    """The whole tree at ``rev`` as nested dicts of binary shas (blobs are not read); ``known`` gets every id."""
    root: Tree = {}
    listing = repo.run("ls-tree", "-r", "-t", "-z", "--full-tree", rev).stdout.decode()
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        _mode, kind, sha_hex = meta.split()
        sha = bytes.fromhex(sha_hex)
        known.add(sha)
        if kind != "blob":
            continue
        *dirs, leaf = path.split("/")
        node = root
        for d in dirs:
            node = node.setdefault(d, {})  # type: ignore[assignment]
        node[leaf] = sha
    return root


def write_commit(env_repo: EnvRepo, start: str | None, replace: dict[str, dict[str, bytes]], message: str) -> str | None:
    """Write a commit on top of ``start`` with each folder in ``replace`` (prefix -> path -> bytes) replaced by the given files.

    Nothing is published: the branch is moved by ``update_ref``. None when the tree is that of ``start``.
    """
    pending = _Pending()
    root: Tree = _read_tree(env_repo, start, pending.known) if start else {}
    for prefix, files in replace.items():
        parts = prefix.split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        sub: Tree = {}
        for path, data in sorted(files.items()):
            rel = path[len(prefix) + 1 :] if path.startswith(prefix + "/") else path
            *dirs, leaf = rel.split("/")
            target = sub
            for d in dirs:
                target = target.setdefault(d, {})  # type: ignore[assignment]
            target[leaf] = pending.add(b"blob", data)
        if sub:
            node[parts[-1]] = sub
        else:
            node.pop(parts[-1], None)
    _flush(env_repo, pending)
    tree = _write_tree(env_repo, root).hex()
    if start is not None and env_repo.text("rev-parse", f"{start}^{{tree}}") == tree:
        return None
    env = {**os.environ}
    env.setdefault("GIT_AUTHOR_NAME", "ccp-gitops")
    env.setdefault("GIT_AUTHOR_EMAIL", "ccp-gitops@localhost")
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
    args = ["commit-tree", tree] + (["-p", start] if start else [])
    return env_repo.run(*args, data=message.encode(), env=env).stdout.decode().strip()


def create_branch(repo: RepoLike, branch: str, commit: str) -> None:
    """Create ``branch`` at ``commit``; it must not exist yet (compare-and-swap)."""
    update_ref(as_env_repo(repo), branch, commit, None)


def update_ref(repo: EnvRepo, branch: str, new: str, old: str | None) -> None:
    """Move ``branch`` from ``old`` (None: it must not exist) to ``new``, or raise BranchMoved."""
    proc = repo.run("update-ref", "-m", "ccp-gitops compile", f"refs/heads/{branch}", new, old or ZERO, check=False)
    if proc.returncode != 0:
        current = branch_head(repo, branch)
        if current == old:  # not a concurrent writer: a lock, a full disk, a permission
            raise RepoError(f"git update-ref failed in {repo.working_tree_dir or repo.git_dir}: {git_error(proc)}; nothing was written")
        raise BranchMoved(
            f"branch {branch!r} moved while compiling (expected {(old or 'no branch')[:12]}, found {(current or 'none')[:12]}): "
            "another writer committed first; nothing was written — compile again"
        )
