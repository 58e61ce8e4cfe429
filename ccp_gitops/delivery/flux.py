"""Flux delivery: the source (GitRepository or OCIRepository), a root Kustomization, one Kustomization per component with dependsOn."""

from __future__ import annotations

from typing import Any, Final

from ccp_gitops.compile.waves import FLUX_PRUNE
from ccp_gitops.delivery.oci_source import oci_repository
from ccp_gitops.delivery.settings import CLUSTERS_DIR, Delivery, Folder, Target
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj

SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
NAMESPACE_DIR = "namespace"
NAMESPACE_UNIT = "namespace"
SOURCE_INTERVAL = "1m"
INTERVAL = "10m"
RETRY_INTERVAL = "1m"
# Covers build, apply and the health of every object, db-sync Jobs included.
TIMEOUT = "15m"
# kstatus counts an ExternalSecret without conditions as ready; wait for Ready=True instead.
# ``exists`` is false on an empty list, and a missing status makes the expression fail to
# evaluate, which Flux treats as not ready yet.
EXTERNAL_SECRET_HEALTH: Final = {
    "apiVersion": "external-secrets.io/v1",
    "kind": "ExternalSecret",
    "current": "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
    "failed": "status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')",
}


def _meta(d: Delivery, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": d.flux_namespace, "labels": labels}


def source_ignore(d: Delivery) -> str:
    """.sourceignore rules that keep only this environment's folder in the artifact."""
    return f"/*\n!/env/\n/env/*\n!/{d.root}/\n"


def git_repository(d: Delivery) -> dict[str, Any]:
    spec: dict[str, Any] = {"interval": SOURCE_INTERVAL, "url": d.repo_url, "ref": {"branch": d.branch}, "ignore": source_ignore(d)}
    if d.git_secret:
        spec["secretRef"] = {"name": d.git_secret}
    return {"apiVersion": SOURCE_API, "kind": "GitRepository", "metadata": _meta(d, d.env, d.labels()), "spec": spec}


def _source_ref(d: Delivery) -> dict[str, str]:
    return {"kind": "OCIRepository" if d.oci is not None else "GitRepository", "name": d.env}


def source_object(d: Delivery) -> dict[str, Any]:
    """Where Flux fetches the environment: the env repo's branch, or its OCI bundle by tag or digest."""
    if d.oci is None:
        return git_repository(d)
    repository = oci_repository(d.env, d.flux_namespace, d.oci)
    repository["metadata"]["labels"] = d.labels()
    return repository


def root_kustomization(d: Delivery) -> dict[str, Any]:
    """Applies the folder of Kustomizations; each of them reports its own readiness."""
    return {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "metadata": _meta(d, d.env, d.labels()),
        "spec": {
            "interval": INTERVAL,
            "retryInterval": RETRY_INTERVAL,
            "timeout": "5m",
            "path": f"./{d.root}/{d.folder('flux')}",
            "prune": True,
            "sourceRef": _source_ref(d),
        },
    }


def _unit(d: Delivery, target: Target, name: str, path: str, labels: dict[str, str], depends_on: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": INTERVAL,
        "retryInterval": RETRY_INTERVAL,
        "timeout": TIMEOUT,
        "path": path,
        "prune": True,
        "wait": True,
        "sourceRef": _source_ref(d),
    }
    if depends_on:
        spec["dependsOn"] = [{"name": n} for n in depends_on]
    if target.kubeconfig_secret:
        spec["kubeConfig"] = {"secretRef": {"name": target.kubeconfig_secret, "key": "value"}}
    return {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "metadata": _meta(d, name, labels), "spec": spec}


def namespace_object(d: Delivery) -> dict[str, Any]:
    """The environment's namespace: Flux does not create it, and must never prune it (it holds the data)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": d.namespace, "labels": d.labels(), "annotations": {FLUX_PRUNE: "disabled"}},
    }


def component_kustomization(env: Environment, d: Delivery, target: Target, component: str, objs: list[Obj], first: list[str]) -> dict[str, Any]:
    """One component on one cluster: after its dependencies are ready, applied and waited for."""
    comp = env.components[component]
    deps = [d.app_name(target, dep) for dep in sorted(comp.depends_on)] or list(first)
    unit = _unit(d, target, d.app_name(target, component), f"./{d.root}/{component}", d.labels(target, component, comp.wave), deps)
    if any(o.component == component and o.id.group == "external-secrets.io" and o.id.kind == "ExternalSecret" for o in objs):
        unit["spec"]["healthCheckExprs"] = [dict(EXTERNAL_SECRET_HEALTH)]
    return unit


def renders_namespace(d: Delivery, objs: list[Obj]) -> bool:
    return any(o.id.group == "" and o.id.kind == "Namespace" and o.id.name == d.namespace for o in objs)


def flux_folders(env: Environment, d: Delivery, objs: list[Obj]) -> dict[str, Folder]:
    """``delivery/flux`` (what the root applies), per-cluster folders for a fleet, ``namespace`` and ``bootstrap``."""
    folders: dict[str, Folder] = {}
    own_namespace = not renders_namespace(d, objs)
    for target in d.targets:
        units: list[dict[str, Any]] = []
        first: list[str] = []
        if own_namespace:
            name = d.app_name(target, NAMESPACE_UNIT)
            units.append(_unit(d, target, name, f"./{d.root}/{d.folder('flux')}/{NAMESPACE_DIR}", d.labels(target), []))
            first = [name]
        units += [component_kustomization(env, d, target, comp, objs, first) for comp in env.components]
        folders[d.folder("flux", target)] = Folder(units)
    if d.fleet:
        folders[d.folder("flux")] = Folder([], [f"{CLUSTERS_DIR}/{t.key}" for t in d.targets])
    if own_namespace:
        folders[f"{d.folder('flux')}/{NAMESPACE_DIR}"] = Folder([namespace_object(d)])
    folders[d.bootstrap("flux")] = Folder([source_object(d), root_kustomization(d)])
    return folders
