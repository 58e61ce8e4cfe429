"""Validate environments end to end without writing: the pipeline's checks plus optional kustomize builds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ccp_gitops.checks.kustomize import build
from ccp_gitops.compile.parallel import compile_envs_slim
from ccp_gitops.compile.pipeline import CompiledTree
from ccp_gitops.compile.spec import SessionSpec


def kustomize_tree(compiled: CompiledTree) -> int:
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


def validate_envs(spec: SessionSpec, names: list[str], kustomize: bool) -> dict[str, Any]:
    """Every check of ``names`` compiled as ``spec`` says; InputError when any fails, else a report of what was checked."""
    report: dict[str, Any] = {"environments": []}
    for compiled in compile_envs_slim(spec, names):
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
