"""Check stage: every assembled object against the Kubernetes OpenAPI schema and the CRDs given."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .assemble import Obj
from .check_schema import SchemaChecker, UnsupportedKubernetesVersion
from .problems import InputError, Problem, error, warning
from .resolve import Environment

CRDS_ENV = "CCP_CRDS"


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


@dataclass
class Checkers:
    """Schema checkers built once per Kubernetes version and shared by every environment."""

    crd_dirs: list[Path]
    by_version: dict[str, SchemaChecker] = field(default_factory=dict)

    def get(self, version: str) -> SchemaChecker:
        if version not in self.by_version:
            self.by_version[version] = SchemaChecker(version, self.crd_dirs)
        return self.by_version[version]


def check_objects(env: Environment, objs: list[Obj], checkers: Checkers) -> list[Problem]:
    """Strict schema problems of one environment's objects (custom kinds are warnings with no CRD folder)."""
    version = str(env.settings.get("kubernetes_version", "1.33"))
    try:
        checker = checkers.get(version)
    except UnsupportedKubernetesVersion as exc:
        where = env.settings_origins.get(("kubernetes_version",))
        location = where[-1] if where else None
        path, line, col = (location.path, location.line, location.col) if location else ("base/defaults.yaml", 1, 1)
        return [Problem(warning(path, line, col, "").location, str(exc))]
    problems: list[Problem] = list(checker.crd_problems)
    unchecked: set[str] = set()
    for obj in objs:
        api_version = str(obj.body.get("apiVersion", ""))
        if not checkers.crd_dirs and not checker.is_builtin(api_version, obj.id.kind):
            unchecked.add(f"{obj.id.kind}.{obj.id.group}")
            continue
        problems.extend(checker.check(obj.body, obj.origin))
    if unchecked:
        problems.append(
            warning(
                f"env/{env.name}", 1, 1,
                f"custom resources not validated ({', '.join(sorted(unchecked))}): give their CRDs with --crds DIR or ${CRDS_ENV}",
            )
        )
    return problems
