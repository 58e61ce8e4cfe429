"""The disk cache's size bound: least-recently-used entries go first; usage and clearing for ``ccp-gitops cache``.

A hit refreshes an entry's modification time (``Cache.get``), so the modification time is the
last use. Pruning removes the oldest entries, across every compiler's folder, until the cache
holds at most 80% of the bound; it only ever removes what the cache wrote (``v1-*`` folders and
their entries), whatever else ``$CCP_CACHE`` holds. Concurrent processes stay safe: entries are
renamed into place whole, and an entry removed under a reader is a miss.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ccp_gitops.cache.disk import FORMAT

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
MAX_BYTES_ENV = "CCP_CACHE_MAX_SIZE"
PRUNE_EVERY_SECONDS = 600  # commands check the bound at most this often
LOW_WATER = 0.8
MARKER = ".pruned"
STALE_TEMP_SECONDS = 3600  # a temporary file this old belongs to a killed writer
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    used: float


@dataclass(frozen=True)
class Usage:
    """What the cache under one root holds: bytes and entries per compiler folder."""

    root: Path
    folders: dict[str, tuple[int, int]]  # folder name -> (entries, bytes)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.folders.values())

    @property
    def entries(self) -> int:
        return sum(count for count, _ in self.folders.values())


def parse_size(text: str) -> int:
    """``512M``, ``2G``, ``100kb`` or a number of bytes; ValueError otherwise."""
    raw = text.strip().lower()
    digits = raw.rstrip("kmgb")
    unit = raw[len(digits) :]
    if not digits.isdigit() or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 512M, 2G, 1000000)")
    return int(digits) * _UNITS[unit]


def _folders(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.name.startswith(f"{FORMAT}-") and p.is_dir())
    except OSError:
        return []


def scan(root: Path) -> list[Entry]:
    """Every entry of every compiler's folder (temporary files of live writers excluded)."""
    found: list[Entry] = []
    now = time.time()
    for folder in _folders(root):
        for kind in _subdirs(folder):
            try:
                items = list(os.scandir(kind))
            except OSError:
                continue
            for item in items:
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if item.name.startswith(".tmp-") and now - info.st_mtime < STALE_TEMP_SECONDS:
                    continue
                found.append(Entry(Path(item.path), info.st_size, info.st_mtime))
    return found


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []


def usage(root: Path) -> Usage:
    folders: dict[str, tuple[int, int]] = {}
    for entry in scan(root):
        name = entry.path.relative_to(root).parts[0]
        count, size = folders.get(name, (0, 0))
        folders[name] = (count + 1, size + entry.size)
    return Usage(root, folders)


def prune(root: Path, max_bytes: int) -> tuple[int, int]:
    """Remove least-recently-used entries until the cache holds at most 80% of ``max_bytes``; (entries, bytes) removed."""
    entries = scan(root)
    total = sum(e.size for e in entries)
    removed = freed = 0
    if total > max_bytes:
        target = int(max_bytes * LOW_WATER)
        for entry in sorted(entries, key=lambda e: e.used):
            if total <= target:
                break
            try:
                entry.path.unlink()
            except FileNotFoundError:
                pass  # another process removed it first
            except OSError:
                continue
            total -= entry.size
            removed += 1
            freed += entry.size
    _mark(root)
    return removed, freed


def clear(root: Path) -> tuple[int, int]:
    """Remove every compiler's folder; (entries, bytes) removed."""
    before = usage(root)
    for folder in _folders(root):
        shutil.rmtree(folder, ignore_errors=True)
    return before.entries, before.bytes


def _mark(root: Path) -> None:
    try:
        (root / MARKER).touch()
    except OSError:
        pass


def prune_if_due(root: Path, max_bytes: int) -> None:
    """``prune`` when the last one is older than ``PRUNE_EVERY_SECONDS`` (one ``stat`` otherwise)."""
    try:
        last = (root / MARKER).stat().st_mtime
    except FileNotFoundError:
        last = 0.0
    except OSError:
        return
    if time.time() - last >= PRUNE_EVERY_SECONDS and root.is_dir():
        prune(root, max_bytes)
