"""Argo CD delivery: AppProjects, the app-of-apps root (or a fleet ApplicationSet), one Application per component."""

from __future__ import annotations

import copy
from typing import Any, Final

from ccp_gitops.compile.waves import SYNC_WAVE
from ccp_gitops.delivery.settings import CLUSTER_LABEL, CLUSTERS_DIR, IN_CLUSTER, Delivery, Folder, Target
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj

API = "argoproj.io/v1alpha1"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
# Argo CD removed the Application health check in 1.8 (docs/operator-manual/health.md#argocd-app):
# without it a child Application is "healthy" as soon as it exists and waves only order creation.
HEALTH_LUA = """hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"""
RETRY: Final = {"limit": 10, "backoff": {"duration": "15s", "factor": 2, "maxDuration": "5m"}}
AUTOMATED: Final = {"prune": True, "selfHeal": True}
# CreateNamespace: the destination namespace may not exist yet (the AppProject allows exactly it).
# PruneLast: content-named Jobs (and anything renamed) are pruned after the new ones are healthy.
CHILD_SYNC_OPTIONS: Final = ("CreateNamespace=true", "PruneLast=true")
# RespectIgnoreDifferences keeps the ignoreDifferences below during sync too; never ServerSideApply
# on the parent (argo-cd#13320: waves of child Applications are then ignored).
ROOT_SYNC_OPTIONS: Final = ("PruneLast=true", "RespectIgnoreDifferences=true")
# docs/operator-manual/cluster-bootstrapping.md: let an operator pause one child's auto-sync
# without the parent reverting it, and ignore the transient sync operation field.
ROOT_IGNORE: Final = ({"group": "argoproj.io", "kind": "Application", "jsonPointers": ["/spec/syncPolicy/automated", "/operation"]},)


def _sync_policy(options: tuple[str, ...]) -> dict[str, Any]:
    """A fresh syncPolicy (no dict shared between objects)."""
    return {"automated": dict(AUTOMATED), "syncOptions": list(options), "retry": copy.deepcopy(RETRY)}


def _meta(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return meta


def root_project(d: Delivery) -> str:
    return f"{d.project}-root"


def _source(d: Delivery, path: str) -> dict[str, str]:
    return {"repoURL": d.repo_url, "targetRevision": d.branch, "path": path}


def cluster_scoped_kinds(objs: list[Obj]) -> list[tuple[str, str]]:
    return sorted({(o.id.group, o.id.kind) for o in objs if o.id.cluster_scoped and o.id.kind != "Namespace"})


def app_project(env: Environment, d: Delivery, objs: list[Obj]) -> dict[str, Any]:
    """Least privilege for the components: the env repo, the environment's clusters and namespaces,
    and only the cluster-scoped kinds the environment renders (Namespaces by name)."""
    namespaces = sorted({d.namespace} | {o.id.namespace for o in objs if o.id.namespace})
    destinations = [{**t.destination(ns)} for t in d.targets for ns in namespaces]
    owned = sorted({d.namespace} | {o.id.name for o in objs if o.id.group == "" and o.id.kind == "Namespace"})
    allowed = [{"group": "", "kind": "Namespace", "name": ns} for ns in owned]
    allowed += [{"group": g, "kind": k} for g, k in cluster_scoped_kinds(objs)]
    return {
        "apiVersion": API,
        "kind": "AppProject",
        "metadata": _meta(d.project, d.argocd_namespace, d.labels()),
        "spec": {
            "description": f"ccp-gitops environment {env.name}: components of env/{env.name}",
            "sourceRepos": [d.repo_url],
            "destinations": destinations,
            "clusterResourceWhitelist": allowed,
        },
    }


def root_app_project(d: Delivery) -> dict[str, Any]:
    """The app-of-apps may only create Applications, in Argo CD's own namespace."""
    return {
        "apiVersion": API,
        "kind": "AppProject",
        "metadata": _meta(root_project(d), d.argocd_namespace, d.labels()),
        "spec": {
            "description": f"ccp-gitops environment {d.env}: the app-of-apps that creates its Applications",
            "sourceRepos": [d.repo_url],
            "destinations": [{"server": IN_CLUSTER, "namespace": d.argocd_namespace}],
            "namespaceResourceWhitelist": [{"group": "argoproj.io", "kind": "Application"}],
        },
    }


def health_config(d: Delivery) -> dict[str, Any]:
    """The argocd-cm key that gives Applications a health status (needed for waves between them)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("argocd-cm", d.argocd_namespace, {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"}),
        "data": {HEALTH_KEY: HEALTH_LUA},
    }


def _root_spec(d: Delivery, path: str) -> dict[str, Any]:
    return {
        "project": root_project(d),
        "source": _source(d, path),
        "destination": {"server": IN_CLUSTER, "namespace": d.argocd_namespace},
        "syncPolicy": _sync_policy(ROOT_SYNC_OPTIONS),
        "ignoreDifferences": copy.deepcopy(list(ROOT_IGNORE)),
    }


def root_application(d: Delivery) -> dict[str, Any]:
    """The app-of-apps: syncs the environment's Argo CD folder. No finalizer, so deleting it by
    mistake orphans the components instead of deleting the whole environment."""
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": _meta(d.env, d.argocd_namespace, d.labels()),
        "spec": _root_spec(d, f"{d.root}/{d.folder('argocd')}"),
    }


def application_set(d: Delivery) -> dict[str, Any]:
    """A fleet: one app-of-apps per cluster, each syncing that cluster's folder of Applications."""
    template_labels = {**d.labels(), CLUSTER_LABEL: "{{.cluster}}"}
    return {
        "apiVersion": API,
        "kind": "ApplicationSet",
        "metadata": _meta(d.env, d.argocd_namespace, d.labels()),
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [{"cluster": t.key} for t in d.targets]}}],
            "template": {
                "metadata": {"name": f"{d.env}-{{{{.cluster}}}}", "namespace": d.argocd_namespace, "labels": dict(sorted(template_labels.items()))},
                "spec": _root_spec(d, f"{d.root}/{d.folder('argocd')}/{CLUSTERS_DIR}/{{{{.cluster}}}}"),
            },
        },
    }


def application(env: Environment, d: Delivery, target: Target, component: str) -> dict[str, Any]:
    """One component on one cluster; its sync wave is the component's wave."""
    wave = env.components[component].wave
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {
            **_meta(d.app_name(target, component), d.argocd_namespace, d.labels(target, component, wave), {SYNC_WAVE: str(wave)}),
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": d.project,
            "source": _source(d, f"{d.root}/{component}"),
            "destination": target.destination(d.namespace),
            "syncPolicy": _sync_policy(CHILD_SYNC_OPTIONS),
        },
    }


def argocd_folders(env: Environment, d: Delivery, objs: list[Obj]) -> dict[str, Folder]:
    """``delivery/argocd`` (what the root syncs), per-cluster folders for a fleet, and ``bootstrap``."""
    folders: dict[str, Folder] = {}
    top = d.folder("argocd")
    for target in d.targets:
        apps = [application(env, d, target, name) for name in env.components]
        folders[d.folder("argocd", target)] = Folder(apps)
    if d.fleet:
        folders[top] = Folder([], [f"{CLUSTERS_DIR}/{t.key}" for t in d.targets])
    root = application_set(d) if d.fleet else root_application(d)
    folders[d.bootstrap("argocd")] = Folder([app_project(env, d, objs), root_app_project(d), health_config(d), root])
    return folders
