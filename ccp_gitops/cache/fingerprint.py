"""Fingerprints: the identity of this compiler build, and content digests of the folders a compile reads."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SCHEMA_DIR = PACKAGE_DIR.parent / "schemas"
# The libraries whose versions can change what a compile writes (their folders' distributions count).
OUTPUT_LIBRARIES = ("jinja2", "markupsafe", "yaml", "jsonschema", "referencing", "kubernetes_validate")


def _hash_path(h: "hashlib._Hash", path: Path, rel: str) -> None:
    """Feed one file or folder (recursively, sorted; symlinks followed and named) into ``h``."""
    try:
        info = os.lstat(path)
    except OSError:
        h.update(f"missing {rel}\0".encode())
        return
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        h.update(f"link {rel} {target}\0".encode())
        try:
            info = os.stat(path)
        except OSError:
            return  # broken or looping: the link text is all there is
    if stat.S_ISDIR(info.st_mode):
        h.update(f"dir {rel}\0".encode())
        try:
            names = sorted(os.listdir(path))
        except OSError:
            h.update(b"unreadable\0")
            return
        for name in names:
            _hash_path(h, path / name, f"{rel}/{name}")
    elif stat.S_ISREG(info.st_mode):
        try:
            data = path.read_bytes()
        except OSError:
            h.update(f"unreadable {rel}\0".encode())
            return
        h.update(f"file {rel} {len(data)}\0".encode())
        h.update(data)
    else:
        h.update(f"other {rel}\0".encode())


def tree_digest(paths: list[Path]) -> str:
    """sha256 over the names and bytes of every file under ``paths`` (files or folders, in order)."""
    h = hashlib.sha256()
    for path in paths:
        _hash_path(h, path, str(path))
    return h.hexdigest()


def _installed_distributions() -> list[str]:
    """Names (with versions) of the distributions installed beside the libraries a compile uses, without importing them."""
    folders: set[str] = set()
    for module in OUTPUT_LIBRARIES:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            folders.add(str(Path(spec.origin).parent.parent))
    found: set[str] = set()
    for folder in folders:
        try:
            found.update(n for n in os.listdir(folder) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(found)


def _libyaml() -> bool:
    spec = importlib.util.find_spec("yaml")
    if spec is None or spec.origin is None:
        return False
    return any(n.startswith("_yaml") for n in os.listdir(Path(spec.origin).parent))


@lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """sha256 identifying this build: its code and schemas, Python, and every installed distribution.

    Anything that can change what a compile produces changes the fingerprint; the disk cache and
    the no-op fast path are scoped by it (pure for the life of a process: code is not reloaded).
    """
    h = hashlib.sha256()
    h.update(f"{sys.version}\0{sys.implementation.cache_tag}\0libyaml={_libyaml()}\0".encode())
    h.update("\0".join(_installed_distributions()).encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(f"\0{path.relative_to(PACKAGE_DIR)}\0".encode() + path.read_bytes())
    h.update(tree_digest([SCHEMA_DIR]).encode())
    return h.hexdigest()
