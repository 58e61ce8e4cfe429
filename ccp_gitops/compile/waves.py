"""Waves: the sync wave of every object inside its component, retention annotations, the waves diagram."""

from __future__ import annotations

import graphlib
import json
import re
from enum import IntEnum
from typing import Any, Iterator, Mapping

from ccp_gitops.compile.assemble import config_refs, is_smoke_test, pod_spec
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import InputError, Problem
from ccp_gitops.model.resid import ResId

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
# Argo CD parses the wave with Go's strconv.Atoi: an optional sign and decimal digits, nothing else.
ATOI = re.compile(r"^[+-]?[0-9]+$")
# kubernetes-entrypoint init containers wait on these (comma-separated, optionally ``namespace:name``).
WAIT_JOBS = "DEPENDENCY_JOBS"
WAIT_SERVICES = "DEPENDENCY_SERVICE"
WAIT_DAEMONSETS = "DEPENDENCY_DAEMONSET"
WAIT_PODS = "DEPENDENCY_POD_JSON"  # a JSON list of {"labels": {...}, "requireSameNode": bool}


class Role(IntEnum):
    """What an object is for inside its component; the value is its base sync wave."""

    GENERATOR = 0  # External Secrets generators (Password, ...) and secret stores
    SECRET = 1  # ExternalSecret: the generated Secret exists once it is Ready
    CONFIG = 2  # ConfigMaps, Services, RBAC, volumes, policies, anything not named below
    JOB = 3  # run-to-completion Jobs (db-sync, bootstrap): Argo CD waits for them to complete
    WORKLOAD = 4  # long-running pods and what scales them
    EXPOSE = 5  # Ingress and LoadBalancer Services: reachable once the workloads are ready


WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod", "CronJob", "HorizontalPodAutoscaler"}
)
SECRET_STORE_KINDS = frozenset({"SecretStore", "ClusterSecretStore"})
# Objects whose loss cannot be undone by re-applying them: a generated-once password would be
# generated again (and no longer match the database), a PersistentVolumeClaim would lose its data.
RETAINED = frozenset({("external-secrets.io", "ExternalSecret"), ("", "PersistentVolumeClaim")})
RETAIN_SYNC_OPTIONS = ("Prune=false", "Delete=false")


def role(obj: Obj) -> Role:
    """The role of an object, from its group, kind and (for Services) type."""
    group, kind = obj.id.group, obj.id.kind
    if group == "generators.external-secrets.io" or (group == "external-secrets.io" and kind in SECRET_STORE_KINDS):
        return Role.GENERATOR
    if group == "external-secrets.io" and kind == "ExternalSecret":
        return Role.SECRET
    if group == "batch" and kind == "Job":
        return Role.JOB
    if kind in WORKLOAD_KINDS:
        return Role.WORKLOAD
    if kind == "Ingress" or (group == "" and kind == "Service" and (obj.body.get("spec") or {}).get("type") == "LoadBalancer"):
        return Role.EXPOSE
    return Role.CONFIG


def retained(obj: Obj) -> bool:
    """True for objects that neither engine may ever prune or delete."""
    return (obj.id.group, obj.id.kind) in RETAINED or obj.id.group == "generators.external-secrets.io"


def _names(value: Any, namespace: str) -> list[str]:
    """``a,ns:b`` -> names of the entries in ``namespace`` (entries of other namespaces are dropped)."""
    if not isinstance(value, str):
        return []
    out = []
    for item in (part.strip() for part in value.split(",")):
        ns, _, name = item.rpartition(":")
        if name and (not ns or ns == namespace):
            out.append(name)
    return out


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    spec = pod.get("spec") or {}
    for key in ("initContainers", "containers"):
        yield from (c for c in spec.get(key) or [] if isinstance(c, dict))


def secret_refs(pod: Mapping[str, Any]) -> set[str]:
    """Names of the Secrets a pod template mounts or reads."""
    refs: set[str] = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        refs.add(str((volume.get("secret") or {}).get("secretName") or ""))
        for src in (volume.get("projected") or {}).get("sources") or []:
            refs.add(str((src.get("secret") or {}).get("name") or ""))
    for container in _containers(pod):
        for env_from in container.get("envFrom") or []:
            refs.add(str((env_from.get("secretRef") or {}).get("name") or ""))
        for env in container.get("env") or []:
            refs.add(str(((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") or ""))
    refs.discard("")
    return refs


def waits_for(pod: Mapping[str, Any], variable: str, namespace: str) -> list[str]:
    """The names a kubernetes-entrypoint init container waits for through ``variable``."""
    out: list[str] = []
    for container in _containers(pod):
        for env in container.get("env") or []:
            if env.get("name") == variable:
                out.extend(_names(env.get("value"), namespace))
    return out


def _pod_labels(obj: Obj) -> dict[str, Any]:
    pod = pod_spec(obj.body)
    return dict(((pod or {}).get("metadata") or {}).get("labels") or {})


def _ingress_services(ingress: Mapping[str, Any]) -> set[str]:
    """Names of the Services an Ingress routes to."""
    spec = ingress.get("spec") or {}
    backends = [spec.get("defaultBackend") or {}]
    for rule in spec.get("rules") or []:
        backends.extend(path.get("backend") or {} for path in (rule.get("http") or {}).get("paths") or [])
    return {str((b.get("service") or {}).get("name")) for b in backends if (b.get("service") or {}).get("name")}


def _selected(service: Obj | None, objs: list[Obj], exclude: Obj) -> list[Obj]:
    """The workloads of ``objs`` whose pods a Service selects."""
    selector = ((service.body.get("spec") or {}).get("selector") or {}) if service is not None else {}
    if not selector or service is None:
        return []
    return [
        o for o in objs
        if o is not exclude and o.id.namespace == service.id.namespace and role(o) is Role.WORKLOAD
        and all(_pod_labels(o).get(k) == v for k, v in selector.items())
    ]  # fmt: skip


def dependencies(objs: list[Obj]) -> dict[ResId, set[ResId]]:
    """Inside one component: object -> the objects it must wait for before it can become ready."""
    by_kind: dict[tuple[str, str, str], Obj] = {(o.id.kind, o.id.namespace, o.id.name): o for o in objs}
    secret_source: dict[tuple[str, str], ResId] = {}
    for obj in objs:
        if role(obj) is Role.SECRET:
            target = ((obj.body.get("spec") or {}).get("target") or {}).get("name") or obj.id.name
            secret_source[(obj.id.namespace, str(target))] = obj.id
    deps: dict[ResId, set[ResId]] = {o.id: set() for o in objs}
    for obj in objs:
        ns = obj.id.namespace
        if role(obj) is Role.SECRET:
            for item in (obj.body.get("spec") or {}).get("dataFrom") or []:
                ref = ((item or {}).get("sourceRef") or {}).get("generatorRef") or {}
                gen = by_kind.get((str(ref.get("kind")), ns, str(ref.get("name"))))
                if gen is not None:
                    deps[obj.id].add(gen.id)
        if role(obj) is Role.EXPOSE:  # route traffic only to workloads that are ready
            services = [obj] if obj.id.kind == "Service" else [by_kind.get(("Service", ns, n)) for n in _ingress_services(obj.body)]
            deps[obj.id].update(w.id for service in services for w in _selected(service, objs, obj))
        pod = pod_spec(obj.body)
        if pod is None:
            continue
        for name in config_refs(pod):
            if (cm := by_kind.get(("ConfigMap", ns, name))) is not None:
                deps[obj.id].add(cm.id)
        for name in secret_refs(pod):
            if (source := secret_source.get((ns, name))) is not None:
                deps[obj.id].add(source)
        for name in waits_for(pod, WAIT_JOBS, ns):
            if (job := by_kind.get(("Job", ns, name))) is not None:
                deps[obj.id].add(job.id)
        for name in waits_for(pod, WAIT_DAEMONSETS, ns):
            if (ds := by_kind.get(("DaemonSet", ns, name))) is not None:
                deps[obj.id].add(ds.id)
        for name in waits_for(pod, WAIT_SERVICES, ns):
            deps[obj.id].update(w.id for w in _selected(by_kind.get(("Service", ns, name)), objs, obj))
        for labels in _pod_waits(pod):
            # e.g. nova-compute waits for a ready nova-conductor: conductors roll first, in a patch too
            deps[obj.id].update(
                w.id for w in objs
                if w is not obj and role(w) is Role.WORKLOAD and all(_pod_labels(w).get(k) == v for k, v in labels.items())
            )  # fmt: skip
    return deps


def _pod_waits(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The label sets of the pods a kubernetes-entrypoint init container waits for (DEPENDENCY_POD_JSON)."""
    out: list[dict[str, Any]] = []
    for container in _containers(pod):
        for env in container.get("env") or []:
            if env.get("name") != WAIT_PODS or not env.get("value"):
                continue
            try:
                entries = json.loads(str(env["value"]))
            except ValueError:
                continue
            out.extend(dict(e["labels"]) for e in entries if isinstance(e, dict) and isinstance(e.get("labels"), dict) and e["labels"])
    return out


def _explicit_wave(obj: Obj, problems: list[Problem]) -> int | None:
    text = ((obj.body.get("metadata") or {}).get("annotations") or {}).get(SYNC_WAVE)
    if text is None:
        return None
    if not isinstance(text, str) or not ATOI.match(text):
        problems.append(Problem(obj.origin, f"{obj.id}: {SYNC_WAVE} must be an integer in quotes, not {text!r}"))
        return None
    return int(text)


def component_waves(objs: list[Obj], problems: list[Problem]) -> dict[ResId, int]:
    """Wave of each object of one component: at least its role's wave, after everything it waits for."""
    deps = dependencies(objs)
    by_id = {o.id: o for o in objs}
    sorter: graphlib.TopologicalSorter[ResId] = graphlib.TopologicalSorter(deps)
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle: list[ResId] = exc.args[1]
        first = by_id[cycle[0]]
        chain = " -> ".join(f"{r.kind}/{r.name}" for r in reversed(cycle))
        problems.append(Problem(first.origin, f"component {first.component}: objects wait for each other and can never become ready: {chain}"))
        return {}
    waves: dict[ResId, int] = {}
    for rid in order:
        obj = by_id[rid]
        explicit = _explicit_wave(obj, problems)
        after = [waves[d] + 1 for d in deps[rid]]
        waves[rid] = explicit if explicit is not None else max([int(role(obj)), *after])
    # a smoke test runs in the component's last wave, once everything else is in place and healthy
    last = max((w for rid, w in waves.items() if not is_smoke_test(by_id[rid])), default=0)
    for rid in waves:
        if is_smoke_test(by_id[rid]) and _explicit_wave(by_id[rid], []) is None:
            waves[rid] = max(waves[rid], last + 1)
    return waves


def _merge_options(existing: Any, wanted: tuple[str, ...]) -> str:
    """Add ``wanted`` sync options to an existing comma list; an option the template set wins."""
    options = [o.strip() for o in str(existing or "").split(",") if o.strip()]
    keys = {o.split("=", 1)[0] for o in options}
    options.extend(o for o in wanted if o.split("=", 1)[0] not in keys)
    return ",".join(options)


def annotate(objs: list[Obj]) -> None:
    """Give every object its sync wave and protect retained objects; InputError on deadlocks."""
    problems: list[Problem] = []
    by_component: dict[str, list[Obj]] = {}
    for obj in objs:
        by_component.setdefault(obj.component, []).append(obj)
    for members in by_component.values():
        waves = component_waves(members, problems)
        for obj in members:
            if obj.id not in waves:
                continue
            annotations = obj.body["metadata"].setdefault("annotations", {})
            annotations[SYNC_WAVE] = str(waves[obj.id])
            if retained(obj):
                annotations[SYNC_OPTIONS] = _merge_options(annotations.get(SYNC_OPTIONS), RETAIN_SYNC_OPTIONS)
                annotations.setdefault(FLUX_PRUNE, "disabled")
    if problems:
        raise InputError(problems)


def _node(name: str) -> str:
    return name.replace("-", "_")


def mermaid_waves(waves: Mapping[int, list[str]], edges: list[tuple[str, str]]) -> str:
    """A mermaid flowchart: one subgraph per wave, an edge per dependency (dependency --> dependent)."""
    lines = ["flowchart LR"]
    for wave, names in sorted(waves.items()):
        lines.append(f'  subgraph wave{wave}["wave {wave}"]')
        lines.extend(f"    {_node(n)}[{n}]" for n in sorted(names))
        lines.append("  end")
    lines.extend(f"  {_node(dep)} --> {_node(comp)}" for dep, comp in sorted(edges))
    return "\n".join(lines)
