"""Test helper: compile a source in-process and look at the tree as files, objects and folders."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.compile.pipeline import Compiled

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "delivery-source"


def compile_env(source: Path, env: str, engines: list[str] | None = None) -> Compiled:
    return compile_all(source, [env], engines=engines)[0]


def objects(files: dict[str, bytes], prefix: str = "") -> dict[str, dict[str, Any]]:
    """path -> object for every YAML object file under ``prefix`` (kustomization.yaml excluded)."""
    out = {}
    for path, data in sorted(files.items()):
        if path.startswith(prefix) and path.endswith(".yaml") and not path.endswith("/kustomization.yaml"):
            out[path] = yaml.safe_load(data)
    return out


def write_tree(files: dict[str, bytes], dest: Path) -> Path:
    for path, data in files.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest


def copy_source(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


def set_delivery(source: Path, env: str, **values: Any) -> None:
    """Rewrite ``delivery`` keys of overlays/<env>/env.yaml (the file stays valid YAML)."""
    path = source / "overlays" / env / "env.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("delivery", {}).update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
