"""The apply order of the rendered delivery objects: Argo CD sync waves, or Flux dependsOn."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.objects import Obj, RunError, annotation, kustomize_build

ARGO_WAVE = "argocd.argoproj.io/sync-wave"


@dataclass
class Unit:
    """One Argo CD Application / Flux Kustomization: its objects in the groups applied one by one."""

    name: str
    path: str
    groups: list[list[Obj]]
    after: list[str] = field(default_factory=list)


def _wave(obj: Obj) -> int:
    return int(annotation(obj, ARGO_WAVE, "0"))


def _delivery(env_dir: Path, engine: str) -> list[Obj]:
    folder = env_dir / "delivery" / engine
    if not (folder / "kustomization.yaml").exists():
        raise RunError(f"{env_dir.name}: no rendered {engine} delivery in {folder} (is {engine} among the "
                       "environment's delivery engines?)")
    return kustomize_build(folder)


def argocd_units(repo: Path, env_dir: Path, only: set[str] | None = None) -> list[Unit]:
    """Applications in sync-wave order; each waits for every Application of the lower waves.

    Inside an Application, objects are applied wave by wave, each wave healthy before the next
    (Argo CD's sync waves); the root app-of-apps moves to the next wave of Applications once the
    lower ones are Healthy (the Application health check in argocd-cm).
    """
    apps = [a for a in _delivery(env_dir, "argocd") if a.get("kind") == "Application"]
    units: list[Unit] = []
    by_wave: dict[int, list[str]] = {}
    for app in sorted(apps, key=lambda a: (_wave(a), a["metadata"]["name"])):
        path = str(app["spec"]["source"]["path"])
        if only is not None and Path(path).name not in only:
            continue
        objs = kustomize_build(repo / path)
        waves = sorted({_wave(o) for o in objs})
        groups = [[o for o in objs if _wave(o) == w] for w in waves]
        lower = [n for w, names in by_wave.items() if w < _wave(app) for n in names]
        units.append(Unit(str(app["metadata"]["name"]), path, groups, lower))
        by_wave.setdefault(_wave(app), []).append(str(app["metadata"]["name"]))
    return units


def flux_units(repo: Path, env_dir: Path, only: set[str] | None = None) -> list[Unit]:
    """Kustomizations: all objects at once, after every dependsOn is Ready (wait: true)."""
    kss = [k for k in _delivery(env_dir, "flux") if k.get("kind") == "Kustomization"]
    units: list[Unit] = []
    names = set()
    for ks in kss:
        path = str(ks["spec"]["path"]).removeprefix("./")
        if only is not None and Path(path).name not in only and Path(path).name != "namespace":
            continue
        if not ks["spec"].get("wait"):
            raise RunError(f"Kustomization {ks['metadata']['name']}: without `wait: true` Flux does not "
                           "wait for its objects; the runner only follows waited Kustomizations")
        names.add(str(ks["metadata"]["name"]))
        deps = [str(d["name"]) for d in ks["spec"].get("dependsOn") or []]
        units.append(Unit(str(ks["metadata"]["name"]), path, [kustomize_build(repo / path)], deps))
    for unit in units:
        missing = [d for d in unit.after if d not in names]
        if missing and only is None:
            raise RunError(f"Kustomization {unit.name} depends on {missing}, which the delivery does not render")
        unit.after = [d for d in unit.after if d in names]
    return units
