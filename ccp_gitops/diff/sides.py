"""Diff sides: an environment's files at an env-repo revision or from a compile, parsed into objects."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from ccp_gitops.compile.assemble import COMPONENT_LABEL
from ccp_gitops.compile.emit import load_all
from ccp_gitops.compile.layout import LOCK_FILE
from ccp_gitops.diff.model import DiffError
from ccp_gitops.diff.objects import ParsedObj
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.problems import InputError, Location, Problem
from ccp_gitops.model.resid import ResId
from ccp_gitops.repo.commit import blob_sha

KUSTOMIZE_CONFIG_API = "kustomize.config.k8s.io/"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Tree:
    """The files of ``env/<env>/`` on one side: blob ids of all of them, bytes of those read so far."""

    root: str
    label: str
    blobs: dict[str, str] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_files(cls, root: str, label: str, files: dict[str, bytes]) -> Tree:
        return cls(root, label, {p: blob_sha(d).hex() for p, d in files.items()}, dict(files))

    @property
    def exists(self) -> bool:
        return bool(self.blobs)

    @property
    def lock_path(self) -> str:
        return f"{self.root}/{LOCK_FILE}"


class GitRepo:
    """The env repo, read through the ``git`` binary (rev-parse, ls-tree, one cat-file for all blobs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_dir():
            raise DiffError(f"{path}: no env repo here (compile first, or pass --repo)")
        probe = self._run("rev-parse", "--git-dir", check=False)
        if probe.returncode != 0:
            raise DiffError(f"{path}: not a git repository")

    def _run(self, *args: str, data: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", "-C", str(self.path), *args], input=data, capture_output=True)
        if check and proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()
            raise DiffError(f"{self.path}: git {args[0]} failed: {message[-1] if message else proc.returncode}")
        return proc

    def resolve(self, rev: str) -> str:
        """The commit ``rev`` names (a branch, tag, sha or expression); DiffError when it names none."""
        if not rev or rev.startswith("-"):
            raise DiffError(f"invalid revision {rev!r}")
        proc = self._run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
        if proc.returncode != 0:
            raise DiffError(f"unknown revision {rev!r} in env repo {self.path}")
        return proc.stdout.decode().strip()

    def branch(self, name: str) -> str | None:
        proc = self._run("rev-parse", "--verify", "--quiet", f"refs/heads/{name}^{{commit}}", check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def list_envs(self, commit: str, label: str) -> dict[str, Tree]:
        """Every ``env/<name>/`` folder at ``commit`` with its blob ids (no blob is read)."""
        listing = self._run("ls-tree", "-r", "-z", "--full-tree", commit, "--", "env").stdout.decode()
        trees: dict[str, Tree] = {}
        for entry in filter(None, listing.split("\0")):
            meta, path = entry.split("\t", 1)
            parts = path.split("/")
            if len(parts) < 3 or meta.split()[1] != "blob":
                continue
            tree = trees.setdefault(parts[1], Tree(f"env/{parts[1]}", label))
            tree.blobs[path] = meta.split()[2]
        return trees

    def read(self, tree: Tree, paths: list[str]) -> None:
        """Fill ``tree.data`` for ``paths`` with one ``git cat-file --batch``."""
        wanted = [p for p in paths if p not in tree.data and p in tree.blobs]
        if not wanted:
            return
        shas = [tree.blobs[p] for p in wanted]
        out = self._run("cat-file", "--batch", data=("\n".join(shas) + "\n").encode()).stdout
        pos = 0
        for path in wanted:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            tree.data[path] = out[header_end + 1 : header_end + 1 + size]
            pos = header_end + 1 + size + 1


def read_lock(tree: Tree) -> Lock | None:
    """The lock file of a side (must already be read), or None."""
    raw = tree.data.get(tree.lock_path)
    if raw is None:
        return None
    try:
        lock = json.loads(raw)
    except ValueError as exc:
        raise InputError([Problem(Location(f"{tree.label}:{tree.lock_path}", 1, 1), f"lock file is not valid JSON: {exc}")]) from None
    return Lock.of(lock) if isinstance(lock, dict) else None


def object_file(tree: Tree, path: str) -> bool:
    """True for files that may hold Kubernetes objects: YAML under the env folder.

    kustomization.yaml files are read too (a Flux Kustomization may live in one); kustomize's
    own config documents are skipped by apiVersion when parsing.
    """
    return path.startswith(tree.root + "/") and path.endswith(YAML_SUFFIXES)


def parse_objects(
    tree: Tree, paths: list[str], namespace: str, parse: Callable[[str], list[Any]] = load_all
) -> dict[ResId, ParsedObj]:
    """The objects in ``paths`` of ``tree`` keyed by ResId; bad YAML is an InputError naming the file.

    ``parse`` reads a file's YAML stream (a memo of it serves files both sides of several diffs hold)."""
    objects: dict[ResId, ParsedObj] = {}
    problems: list[Problem] = []
    for path in paths:
        raw = tree.data.get(path)
        if raw is None or not object_file(tree, path):
            continue
        where = f"{tree.label}:{path}"
        try:
            docs = parse(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.append(Problem(Location(where, 0, 0), "not UTF-8 text"))
            continue
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
            problems.append(Problem(Location(where, line, col), f"not valid YAML: {exc.problem}"))
            continue
        except yaml.YAMLError as exc:
            problems.append(Problem(Location(where, 0, 0), f"not valid YAML: {exc}"))
            continue
        rel = path[len(tree.root) + 1 :]
        folder = rel.split("/", 1)[0] if "/" in rel else ""
        for doc in docs:
            if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
                continue
            if str(doc.get("apiVersion", "")).startswith(KUSTOMIZE_CONFIG_API):
                continue
            rid = ResId.of(doc, namespace)
            labels = (doc.get("metadata") or {}).get("labels") or {}
            component = str(labels.get(COMPONENT_LABEL) or folder)
            objects[rid] = ParsedObj(rid, doc, component, path)
    if problems:
        raise InputError(problems)
    return objects
