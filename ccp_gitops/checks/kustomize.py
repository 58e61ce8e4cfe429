"""kustomize: the external ``kustomize`` binary when on PATH, else ``kubectl kustomize``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ccp_gitops.model.errors import CcpError


class KustomizeError(CcpError):
    """kustomize is missing or a build failed."""


def command() -> list[str]:
    """The argv prefix that builds a kustomization directory."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise KustomizeError(
        "neither 'kustomize' nor 'kubectl' is on PATH: install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl"
    )


def build(directory: Path) -> str:
    """``kustomize build DIR``; the rendered YAML stream, or KustomizeError with kustomize's message."""
    proc = subprocess.run([*command(), str(directory)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise KustomizeError(f"kustomize build {directory} failed: {proc.stderr.strip()}")
    return proc.stdout
