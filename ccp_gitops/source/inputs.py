"""What a compile reads: the source roots and CRD folders, and digests of all of it taken without parsing.

Light on purpose (no YAML, Jinja2 or jsonschema): the no-op fast path uses these digests to
decide, before importing any of the pipeline, that a compile would produce what the env repo holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ccp_gitops.cache.disk import digest
from ccp_gitops.cache.fingerprint import compiler_fingerprint, tree_digest
from ccp_gitops.model.problems import InputError, did_you_mean, error
from ccp_gitops.source.catalogue import CATALOGUE_ROOT

CRDS_ENV = "CCP_CRDS"
PACKAGE_CATALOGUE = CATALOGUE_ROOT
SITE_FILE = "ccp-gitops.yaml"
LOCK_FILE = "ccp-gitops.lock.json"  # in every environment folder of the env repo
ROOT_PARTS = ("base", "components")  # what a source root contributes besides overlays/


def env_name(arg: str) -> str:
    """``env/prod``, ``prod`` and ``overlays/prod`` all name the environment ``prod``."""
    name = arg.strip().rstrip("/")
    for prefix in ("env/", "overlays/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def unknown_environment(name: str, known: list[str]) -> str:
    """The message for an environment the source has no overlay for."""
    return f"unknown environment {name!r}{did_you_mean(name, known)} (known: {', '.join(known)})"


def overlay_names(source_dir: Path) -> list[str]:
    """The environments of a source tree: its overlays/ folders that hold an env.yaml (none without overlays/)."""
    overlays = source_dir / "overlays"
    if not overlays.is_dir():
        return []
    return sorted(p.name for p in overlays.iterdir() if (p / "env.yaml").is_file())


def default_source(cwd: Path) -> Path:
    """``--source`` default: the current directory when it holds overlays/, else the bundled catalogue."""
    return cwd if (cwd / "overlays").is_dir() else PACKAGE_CATALOGUE


def crd_dirs(options: list[Path] | None, source_root: Path | None) -> list[Path]:
    """CRD folders: ``--crds`` options, else ``$CCP_CRDS`` (path-separated), plus the source's schemas/crds/."""
    dirs = list(options or [])
    if not dirs and os.environ.get(CRDS_ENV):
        dirs = [Path(p) for p in os.environ[CRDS_ENV].split(os.pathsep) if p]
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        raise InputError([error(str(d), 1, 1, "CRD folder does not exist") for d in missing])
    if source_root is not None and (source_root / "schemas" / "crds").is_dir():
        dirs.append(source_root / "schemas" / "crds")
    return dirs


@dataclass(frozen=True)
class Inputs:
    """Digests of everything a compile of a source reads, split so one overlay's change spares the others.

    ``shared`` covers the compiler, the options, the CRD folders and every file of the source
    roots except the overlays; ``overlays`` has one digest per overlay folder.
    """

    root: Path
    shared: str
    overlays: dict[str, str]

    def outcome_key(self, env: str, chain: list[str]) -> str | None:
        """Key of a compile of ``env`` whose overlay chain is ``chain``; None when one of them is gone."""
        if any(name not in self.overlays for name in chain):
            return None
        return digest("outcome", self.shared, env, *(f"{name}={self.overlays[name]}" for name in chain))


def source_roots(root: Path) -> list[Path]:
    """The roots a source layers (the bundled catalogue under a site repository), a superset when unsure."""
    roots = [root]
    if (root / SITE_FILE).exists() and PACKAGE_CATALOGUE.resolve() != root:
        roots.insert(0, PACKAGE_CATALOGUE.resolve())
    return roots


def read_inputs(source_dir: Path, crds: list[Path] | None, options: str) -> Inputs:
    """Digest every file a compile of ``source_dir`` can read, with ``options`` (engines, checks)."""
    root = source_dir.resolve()
    folders = crd_dirs(crds, root)
    parts = [root / SITE_FILE] + [r / part for r in source_roots(root) for part in ROOT_PARTS]
    shared = digest("inputs", compiler_fingerprint(), options, *map(str, folders), tree_digest(folders), tree_digest(parts))
    overlays: dict[str, str] = {}
    try:
        names = sorted(os.listdir(root / "overlays"))
    except OSError:
        names = []
    for name in names:
        overlays[name] = tree_digest([root / "overlays" / name])
    return Inputs(root, shared, overlays)
