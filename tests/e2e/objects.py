"""Rendered Kubernetes objects as the runner reads them: built by kustomize, keyed by identity."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]


class RunError(Exception):
    """The run cannot go on; the message names the object or pod and why."""


@dataclass(frozen=True, order=True)
class Key:
    """Identity of an object in the run: kind, namespace, name (API group left out: no clashes here)."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


def key_of(obj: Obj, default_ns: str = "") -> Key:
    """The identity of one object."""
    meta = obj.get("metadata", {})
    return Key(str(obj.get("kind", "")), str(meta.get("namespace", default_ns)), str(meta.get("name", "")))


def annotation(obj: Obj, name: str, default: str = "") -> str:
    """One annotation of an object, or `default`."""
    return str((obj.get("metadata", {}).get("annotations") or {}).get(name, default))


def kustomize_build(path: Path) -> list[Obj]:
    """What Argo CD / Flux apply from one kustomization directory: `kustomize build` (or kubectl's)."""
    if shutil.which("kustomize"):
        cmd = ["kustomize", "build", str(path)]
    elif shutil.which("kubectl"):
        cmd = ["kubectl", "kustomize", str(path)]
    else:
        raise RunError("neither kustomize nor kubectl is on PATH")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RunError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """True when every selector label is on the object (matchLabels semantics)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def match_labels(selector: Obj | None) -> dict[str, str]:
    """The matchLabels of a LabelSelector; matchExpressions are refused (not rendered by us)."""
    if not selector:
        return {}
    if selector.get("matchExpressions"):
        raise RunError("label selectors with matchExpressions are not supported by the runner")
    return {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
