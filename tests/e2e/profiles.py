"""Image profiles (tests/e2e/profiles.yaml): how an image's filesystem maps onto this machine."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.objects import RunError

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")
STANDINS = Path(__file__).with_name("standins")
CACHE = Path.home() / ".cache" / "ccp-gitops"


@dataclass(frozen=True)
class PathMap:
    """One image path and what stands in for it (a host path, or an empty directory)."""

    image: str
    host: str | None
    stands_for: str
    mode: int = 0o755


@dataclass(frozen=True)
class Profile:
    """What the runner knows of one image repository."""

    repository: str
    stands_for: str
    builtin: str | None = None
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: tuple[int, int] = (0, 0)
    env: dict[str, str] = field(default_factory=dict)
    paths: tuple[PathMap, ...] = ()


def repository(image: str) -> str:
    """The repository part of an image reference (no tag, no digest)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _host_path(raw: str, release: str, where: str) -> str:
    path = raw.format(cache=CACHE, standins=STANDINS, release=release)
    if "*" in path:
        found = sorted(glob.glob(path))
        if len(found) != 1:
            raise RunError(f"{where}: {raw} matches {len(found)} paths on this machine, not one")
        path = found[0]
    if not Path(path).exists():
        raise RunError(f"{where}: {path} is missing on this machine (is `make e2e-deps` done?)")
    return path


def _paths(entry: dict[str, Any], release: str, where: str) -> tuple[PathMap, ...]:
    out = []
    for item in entry.get("paths") or []:
        if not item.get("for"):
            raise RunError(f"{where}: path {item.get('image')} does not say what it stands in for")
        host = None if item.get("empty") else _host_path(str(item["host"]), release, where)
        out.append(PathMap(str(item["image"]), host, str(item["for"]), int(str(item.get("mode", "755")), 8)))
    return tuple(out)


def load_profile(image: str, release: str, source: Path = PROFILES_FILE) -> Profile:
    """The profile of an image, its host paths resolved; an image without one is an error."""
    entries: dict[str, Any] = (yaml.safe_load(source.read_text()) or {}).get("images") or {}
    repo = repository(image)
    entry = entries.get(repo)
    if entry is None:
        raise RunError(f"image {image} has no profile in {source.name}: the runner cannot tell what "
                       "stands in for it on this machine")
    where = f"{source.name}: {repo}"
    user = entry.get("user") or [0, 0]
    return Profile(
        repository=repo,
        stands_for=str(entry.get("stands_for", "")),
        builtin=entry.get("builtin"),
        entrypoint=tuple(str(a) for a in entry.get("entrypoint") or ()),
        cmd=tuple(str(a) for a in entry.get("cmd") or ()),
        user=(int(user[0]), int(user[1])),
        env={str(k): str(v) for k, v in (entry.get("env") or {}).items()},
        paths=_paths(entry, release, where),
    )
