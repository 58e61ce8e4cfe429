"""Shards of a fleet: ``--shard K/N`` picks a deterministic 1/N of the environments for one CI job.

An environment belongs to shard ``sha256(name) mod N + 1``: the same environment lands in the
same shard on every run and every machine, whatever other environments come and go (so each
shard's disk cache stays warm for its environments), and N shards cover the fleet exactly once.
"""

from __future__ import annotations

import hashlib
import re

_SHARD = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` as (K, N) with 1 <= K <= N; ValueError says what is wrong."""
    match = _SHARD.match(text.strip())
    if match is None:
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. 2/8")
    k, n = int(match.group(1)), int(match.group(2))
    if k > n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def shard_number(name: str, count: int) -> int:
    """The shard (1..count) environment ``name`` belongs to."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % count + 1


def select_shard(names: list[str], shard: int, count: int) -> list[str]:
    """The environments of ``names`` in shard ``shard`` of ``count``, in their given order."""
    return [name for name in names if shard_number(name, count) == shard]
