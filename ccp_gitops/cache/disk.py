"""Disk cache: content-addressed entries under ``$CCP_CACHE``, safe under concurrent processes.

An entry is addressed by a key the caller derives from content digests; every key is scoped by
the compiler fingerprint (the code of ccp-gitops, its dependencies and their versions), so a new
compiler never reads an older one's entries. Entries are written to a temporary file and renamed
into place (readers see a whole entry or none), carry a sha256 of their payload, and an entry
that is missing, truncated, corrupt or unreadable is a miss: the caller rebuilds it. The cache
never changes a result, only how fast it is computed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ccp_gitops.cache.fingerprint import compiler_fingerprint

CACHE_ENV = "CCP_CACHE"
DISABLED = ("off", "none", "0", "false")
FORMAT = "v1"
MAGIC = b"ccp-gitops-cache-1\n"
PRUNE_AFTER_SECONDS = 14 * 24 * 3600


def files_digest(files: Mapping[str, bytes]) -> str:
    """sha256 over the sorted paths and the sha256 of each file: the identity of a set of files."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def digest(*parts: bytes | str) -> str:
    """sha256 over length-prefixed parts (so ``("ab", "c")`` and ``("a", "bc")`` differ)."""
    h = hashlib.sha256()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        h.update(b"%d:" % len(raw))
        h.update(raw)
    return h.hexdigest()


@dataclass(frozen=True)
class Cache:
    """One compiler's folder of the disk cache (``root`` is ``$CCP_CACHE/v1-<fingerprint>``)."""

    root: Path

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def get(self, kind: str, key: str) -> bytes | None:
        """The payload stored under ``kind``/``key``, or None (missing, corrupt, unreadable)."""
        path = self._path(kind, key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        head = len(MAGIC) + 32
        payload = raw[head:]
        if raw[: len(MAGIC)] != MAGIC or hashlib.sha256(payload).digest() != raw[len(MAGIC) : head]:
            _discard(path)
            return None
        try:
            os.utime(path)  # the modification time is the last use: pruning keeps the recently used
        except OSError:
            pass
        return payload

    def put(self, kind: str, key: str, payload: bytes) -> None:
        """Store ``payload`` atomically (temporary file + rename); failures only cost speed."""
        folder = self.root / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, folder / key)
        except OSError:
            _discard(Path(tmp))

    def load(self, kind: str, key: str) -> Any:
        """The object pickled under ``kind``/``key``, or None."""
        payload = self.get(kind, key)
        if payload is None:
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # an entry of an incompatible layout: rebuild it
            _discard(self._path(kind, key))
            return None

    def store(self, kind: str, key: str, value: Any) -> None:
        self.put(kind, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def default_root(environ: Mapping[str, str]) -> Path | None:
    """``$CCP_CACHE`` (``off`` disables the cache), else ``$XDG_CACHE_HOME/ccp-gitops``, else ``~/.cache/ccp-gitops``."""
    configured = environ.get(CACHE_ENV)
    if configured is not None:
        if configured.strip().lower() in DISABLED or not configured.strip():
            return None
        return Path(configured).expanduser()
    return home_cache(environ)


def home_cache(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/ccp-gitops``, else ``~/.cache/ccp-gitops``: the user's cache folder."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ccp-gitops"


def fetch_root(environ: Mapping[str, str]) -> Path:
    """Where fetched git sources are kept: ``$CCP_CACHE``, or the user's cache folder when it is unset or
    disabled (``CCP_CACHE=off`` turns off the compile cache; a git source must still be stored somewhere)."""
    return default_root(environ) or home_cache(environ)


def open_cache(root: Path | None) -> Cache | None:
    """The cache folder of this compiler under ``root`` (created on demand); None when disabled."""
    if root is None:
        return None
    folder = root / f"{FORMAT}-{compiler_fingerprint()[:20]}"
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        _prune(root, keep=folder)
    return Cache(folder)


def _prune(root: Path, keep: Path) -> None:
    """Remove other compilers' folders not written to for two weeks (a new compiler's first run)."""
    cutoff = time.time() - PRUNE_AFTER_SECONDS
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry == keep or not entry.name.startswith(f"{FORMAT}-"):
            continue
        try:
            stale = max([entry.stat().st_mtime, *(kind.stat().st_mtime for kind in entry.iterdir())]) < cutoff
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
