"""What a compile reads and how: the frozen options a verb builds once and every stage reads.

Light on purpose: the CLI builds it before it knows whether anything must be compiled (the no-op
fast path imports no part of the pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccp_gitops.cache.disk import Cache


@dataclass(frozen=True)
class SessionSpec:
    """What to compile from and how: the source, CRD folders, checks, engines, disk cache and processes."""

    source_dir: Path
    crds: list[Path] | None = None  # default: $CCP_CRDS
    check: bool = True
    engines: list[str] | None = None  # default: each overlay's delivery.engines
    cache: Cache | None = None
    jobs: int = 1  # compile environments in this many processes (the result is the same)
