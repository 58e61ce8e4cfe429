"""Test helpers: read an env repo with the git binary, parse rendered YAML."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def head(repo: Path, branch: str = "main") -> str | None:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], capture_output=True, text=True)
    return proc.stdout.strip() or None


def commit_count(repo: Path, branch: str = "main") -> int:
    return int(git(repo, "rev-list", "--count", branch)) if head(repo, branch) else 0


def objects(stream: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(stream) if d]


def ids(objs: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objs}
