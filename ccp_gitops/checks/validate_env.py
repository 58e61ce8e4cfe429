"""Validate environments end to end without writing: the pipeline's checks plus optional kustomize builds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ccp_gitops.cache.disk import Cache
from ccp_gitops.checks.kustomize import build
from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.compile.pipeline import Compiled


def kustomize_tree(compiled: Compiled) -> int:
    """Write one compiled tree to a scratch folder and build every kustomization in it; return how many."""
    with tempfile.TemporaryDirectory(prefix="ccp-gitops-") as scratch:
        root = Path(scratch)
        for path, data in compiled.tree.files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        dirs = sorted({(root / p).parent for p in compiled.tree.files if p.endswith("/kustomization.yaml")})
        for directory in dirs:  # each component folder is what one Application/Kustomization applies
            build(directory)
        return len(dirs)


def validate_envs(
    source: Path, names: list[str], crds: list[Path] | None, kustomize: bool, cache: Cache | None = None, jobs: int = 1
) -> dict[str, Any]:
    """Every check of ``names``; InputError when any fails, else a report of what was checked."""
    report: dict[str, Any] = {"environments": []}
    for compiled in compile_all(source, names, crds, cache=cache, jobs=jobs, keep_objects=False):
        if kustomize:
            kustomize_tree(compiled)
        report["environments"].append(
            {
                "name": compiled.env.name,
                "objects": compiled.object_count,
                "components": list(compiled.env.components),
                "warnings": [str(w) for w in compiled.warnings],
            }
        )
    return report
