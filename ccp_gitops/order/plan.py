"""Plan: read a compiled environment tree the way Argo CD and Flux do and report the order they apply it in."""

from __future__ import annotations

import graphlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from ccp_gitops.compile.assemble import COMPONENT_LABEL
from ccp_gitops.compile.emit import load_all
from ccp_gitops.compile.layout import KUSTOMIZATION, LOCK_FILE
from ccp_gitops.compile.waves import mermaid_waves
from ccp_gitops.delivery.settings import BOOTSTRAP_DIR, CLUSTER_LABEL, DELIVERY_DIR
from ccp_gitops.model.errors import CcpError
from ccp_gitops.model.lock import Lock
from ccp_gitops.order.apply_order import argo_sync_order, argo_wave, flux_apply_stages

ENGINE_TITLES = {"argocd": "Argo CD", "flux": "Flux"}


class PlanError(CcpError):
    """The tree is not what ccp-gitops writes (a missing file, a broken reference)."""


@dataclass
class Step:
    """One object as the engine applies it."""

    kind: str
    namespace: str
    name: str
    phase: str = ""  # Argo CD
    wave: int = 0  # Argo CD
    stage: str = ""  # Flux


@dataclass
class Unit:
    """One Argo CD Application or Flux Kustomization: one component on one cluster."""

    kind: str
    name: str
    component: str
    cluster: str
    order: int  # Argo CD: sync wave; Flux: dependency depth (0 = depends on nothing)
    path: str
    depends_on: list[str] = field(default_factory=list)
    timeout: str = ""
    steps: list[Step] = field(default_factory=list)


@dataclass
class EnginePlan:
    """How one engine applies the environment: bootstrap, root object, then its units in order."""

    engine: str
    bootstrap: str
    root: str
    root_path: str
    units: list[Unit] = field(default_factory=list)


@dataclass
class Plan:
    """The whole plan of one environment."""

    env: str
    namespace: str
    waves: dict[int, list[str]]
    edges: list[tuple[str, str]]
    engines: list[EnginePlan] = field(default_factory=list)


def _read(files: Mapping[str, bytes], path: str) -> list[dict[str, Any]]:
    if path not in files:
        raise PlanError(f"{path}: missing from the tree")
    try:
        docs = load_all(files[path].decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: not valid YAML: {exc}") from None
    return [d for d in docs if isinstance(d, dict)]


def kustomize_objects(files: Mapping[str, bytes], folder: str) -> list[dict[str, Any]]:
    """The objects a plain-resources kustomization builds to, in build (FIFO) order."""
    folder = posixpath.normpath(folder.removeprefix("./"))
    docs = _read(files, f"{folder}/{KUSTOMIZATION}")
    out: list[dict[str, Any]] = []
    for resource in (docs[0].get("resources") or []) if docs else []:
        path = posixpath.normpath(f"{folder}/{resource}")
        out.extend(kustomize_objects(files, path) if f"{path}/{KUSTOMIZATION}" in files else _read(files, path))
    return out


def _labels(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    return (manifest.get("metadata") or {}).get("labels") or {}


def _name(manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    return f"{manifest.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


def _root(objs: list[dict[str, Any]], kinds: tuple[str, ...], engine: str) -> dict[str, Any]:
    roots = [o for o in objs if o.get("kind") in kinds and COMPONENT_LABEL not in _labels(o)]
    if engine == "flux":
        roots = [o for o in roots if o.get("kind") == "Kustomization"]
    if not roots:
        raise PlanError(f"the {ENGINE_TITLES[engine]} bootstrap folder has no root {' or '.join(kinds)}")
    return roots[0]


def argocd_plan(files: Mapping[str, bytes], root: str) -> EnginePlan:
    folder = f"{root}/{DELIVERY_DIR}/argocd"
    boot = _root(kustomize_objects(files, f"{folder}/{BOOTSTRAP_DIR}"), ("Application", "ApplicationSet"), "argocd")
    source = (boot["spec"].get("template", boot)["spec"]).get("source") or {}
    plan = EnginePlan("argocd", f"{folder}/{BOOTSTRAP_DIR}", _name(boot), str(source.get("path", "")))
    apps = [a for a in kustomize_objects(files, folder) if a.get("kind") == "Application"]
    by_name = {a["metadata"]["name"]: a for a in apps}
    tasks = list(enumerate(argo_sync_order(apps)))
    for _, task in sorted(tasks, key=lambda it: (str(_labels(by_name[it[1].name]).get(CLUSTER_LABEL, "")), it[0])):
        app = by_name[task.name]
        path = str(app["spec"]["source"]["path"])
        namespace = str(app["spec"]["destination"].get("namespace", ""))
        steps = [Step(t.kind, t.namespace, t.name, t.phase, t.wave) for t in argo_sync_order(kustomize_objects(files, path), namespace)]
        labels = _labels(app)
        plan.units.append(
            Unit("Application", task.name, str(labels.get(COMPONENT_LABEL, "")), str(labels.get(CLUSTER_LABEL, "")), argo_wave(app), path, steps=steps)
        )
    return plan


def _depths(deps: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest dependsOn chain below each Kustomization (0 = depends on nothing)."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter({n: [d for d in ds if d in deps] for n, ds in deps.items()})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise PlanError(f"Kustomization dependsOn cycle: {' -> '.join(exc.args[1])}") from None
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = 1 + max((depth[d] for d in deps[name] if d in depth), default=-1)
    return depth


def flux_plan(files: Mapping[str, bytes], root: str) -> EnginePlan:
    folder = f"{root}/{DELIVERY_DIR}/flux"
    boot = _root(kustomize_objects(files, f"{folder}/{BOOTSTRAP_DIR}"), ("Kustomization",), "flux")
    plan = EnginePlan("flux", f"{folder}/{BOOTSTRAP_DIR}", _name(boot), str(boot["spec"]["path"]).removeprefix("./"))
    units = [k for k in kustomize_objects(files, folder) if k.get("kind") == "Kustomization"]
    deps = {k["metadata"]["name"]: [str(d["name"]) for d in k["spec"].get("dependsOn") or []] for k in units}
    depth = _depths(deps)
    for unit in sorted(units, key=lambda k: (str(_labels(k).get(CLUSTER_LABEL, "")), depth[k["metadata"]["name"]], k["metadata"]["name"])):
        name, spec, labels = unit["metadata"]["name"], unit["spec"], _labels(unit)
        path = str(spec["path"]).removeprefix("./")
        steps = [Step(t.kind, t.namespace, t.name, stage=s) for s, tasks in flux_apply_stages(kustomize_objects(files, path)) for t in tasks]
        plan.units.append(
            Unit("Kustomization", name, str(labels.get(COMPONENT_LABEL, "")), str(labels.get(CLUSTER_LABEL, "")),
                 depth[name], path, deps[name], str(spec.get("timeout", "")), steps)
        )  # fmt: skip
    return plan


def build_plan(files: Mapping[str, bytes], env: str, engines: list[str] | None = None) -> Plan:
    """The plan of ``env/<env>`` in ``files`` for ``engines`` (default: every engine the tree has)."""
    root = f"env/{env}"
    if f"{root}/{LOCK_FILE}" not in files:
        raise PlanError(f"{root}/{LOCK_FILE}: missing from the tree; compile env/{env} first")
    lock = Lock.read(files[f"{root}/{LOCK_FILE}"])
    if lock is None:
        raise PlanError(f"{root}/{LOCK_FILE}: not a JSON object; compile env/{env} again")
    waves: dict[int, list[str]] = {}
    edges: list[tuple[str, str]] = []
    for name, comp in lock.components.items():
        if comp.wave is None:
            raise PlanError(f"{root}/{LOCK_FILE}: component {name} has no wave; compile env/{env} again")
        waves.setdefault(comp.wave, []).append(name)
        edges.extend((dep, name) for dep in comp.depends_on)
    plan = Plan(env, lock.namespace, {w: sorted(n) for w, n in sorted(waves.items())}, sorted(edges))
    present = [e for e in ENGINE_TITLES if f"{root}/{DELIVERY_DIR}/{e}/{KUSTOMIZATION}" in files]
    for engine in engines if engines is not None else present:
        if engine not in present:
            raise PlanError(f"{root} has no {ENGINE_TITLES[engine]} delivery folder (compile with --engine {engine})")
        plan.engines.append(argocd_plan(files, root) if engine == "argocd" else flux_plan(files, root))
    return plan


def _unit_json(engine: str, unit: Unit) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": unit.kind, "name": unit.name, "component": unit.component, "cluster": unit.cluster, "path": unit.path}
    if engine == "argocd":
        out["wave"] = unit.order
        out["objects"] = [{"phase": s.phase, "wave": s.wave, "kind": s.kind, "namespace": s.namespace, "name": s.name} for s in unit.steps]
    else:
        out.update(step=unit.order, depends_on=unit.depends_on, timeout=unit.timeout)
        out["objects"] = [{"stage": s.stage, "kind": s.kind, "namespace": s.namespace, "name": s.name} for s in unit.steps]
    return out


def to_json(plan: Plan) -> str:
    data = {
        "environment": plan.env,
        "namespace": plan.namespace,
        "waves": [{"wave": w, "components": names} for w, names in plan.waves.items()],
        "edges": [{"from": a, "to": b} for a, b in plan.edges],
        "engines": [
            {"engine": e.engine, "bootstrap": e.bootstrap, "root": e.root, "root_path": e.root_path, "units": [_unit_json(e.engine, u) for u in e.units]}
            for e in plan.engines
        ],
    }
    return json.dumps(data, indent=2) + "\n"


def to_mermaid(plan: Plan) -> str:
    return mermaid_waves(plan.waves, plan.edges) + "\n"


def _table(rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _obj(step: Step) -> str:
    return f"{step.namespace}/{step.name}" if step.namespace else step.name


def _unit_lines(engine: str, unit: Unit, shown: dict[str, str]) -> list[str]:
    where = f" on {unit.cluster}" if unit.cluster else ""
    if engine == "argocd":
        head = f"  wave {unit.order}  {unit.kind} {unit.name}{where} -> {unit.path}"
    else:
        after = f", after {', '.join(unit.depends_on)}" if unit.depends_on else ""
        head = f"  step {unit.order}  {unit.kind} {unit.name}{where} -> {unit.path}{after}"
    if unit.path in shown:
        return [head, f"      objects in the same order as {shown[unit.path]}"]
    shown[unit.path] = unit.name
    if engine == "argocd":
        body = _table([[s.phase, f"wave {s.wave}", s.kind, _obj(s)] for s in unit.steps], "      ")
        return [head, *body]
    lines = [head]
    for stage in dict.fromkeys(s.stage for s in unit.steps):
        action = "one server-side apply" if stage == "resources" else "applied, then waited for"
        lines.append(f"      {stage} ({action}):")
        lines.extend(_table([[s.kind, _obj(s)] for s in unit.steps if s.stage == stage], "        "))
    lines.append(f"      then prune, then wait until every object is healthy (timeout {unit.timeout or 'interval'})")
    return lines


def to_text(plan: Plan) -> str:
    count, waves = sum(len(n) for n in plan.waves.values()), len(plan.waves)
    summary = f"{count} component{'s' * (count != 1)} in {waves} wave{'s' * (waves != 1)}"
    lines = [f"Environment {plan.env}: namespace {plan.namespace}, {summary}", ""]
    lines.append("Waves (a component starts once every component it depends on is ready)")
    deps: dict[str, list[str]] = {}
    for dep, comp in plan.edges:
        deps.setdefault(comp, []).append(dep)
    for wave, names in plan.waves.items():
        after = [f"{n} (after {', '.join(deps[n])})" if n in deps else n for n in names]
        lines.append(f"  wave {wave}: {', '.join(after)}")
    for engine in plan.engines:
        lines += ["", ENGINE_TITLES[engine.engine], f"  bootstrap: kubectl apply -k {engine.bootstrap}", f"  root: {engine.root} applies {engine.root_path}"]
        if engine.engine == "argocd":
            lines.append("  each wave of Applications starts once every Application of the previous wave is Healthy;")
            lines.append("  inside an Application: phase, wave, kind, name (gitops-engine), each wave waits for the previous one")
        else:
            lines.append("  each Kustomization starts once its dependsOn are Ready (applied, and healthy with wait: true);")
            lines.append("  inside a Kustomization: ordered stages, then one server-side apply of everything else")
        shown: dict[str, str] = {}
        for unit in engine.units:
            lines.extend(_unit_lines(engine.engine, unit, shown))
    return "\n".join(lines) + "\n"


FORMATS = {"text": to_text, "json": to_json, "mermaid": to_mermaid}
