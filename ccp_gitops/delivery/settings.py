"""Delivery settings of an environment (engines, repo, clusters), names of delivery objects, and the README chapter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ccp_gitops.cache.memo import Emitter, emit_object
from ccp_gitops.compile.assemble import COMPONENT_LABEL, MANAGED_BY
from ccp_gitops.compile.layout import kustomization
from ccp_gitops.compile.resolve import ENGINES
from ccp_gitops.delivery.oci_source import OciSource
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.problems import InputError, Location, Problem

IN_CLUSTER = "https://kubernetes.default.svc"
ENV_LABEL = "ccp-gitops.io/environment"
CLUSTER_LABEL = "ccp-gitops.io/cluster"
WAVE_LABEL = "ccp-gitops.io/wave"
DELIVERY_DIR = "delivery"
BOOTSTRAP_DIR = "bootstrap"
CLUSTERS_DIR = "clusters"
NAME_MAX = 63  # Flux and Argo CD put these names into label values
FLUX_URL = re.compile(r"^(http|https|ssh)://")


@dataclass(frozen=True)
class Target:
    """One cluster the environment is applied to."""

    key: str  # fleet member name; "" for the single cluster of a non-fleet environment
    server: str = ""
    name: str = ""  # Argo CD cluster name, when the destination is given by name
    kubeconfig_secret: str = ""  # Flux: Secret (key ``value``) with the kubeconfig of a remote cluster
    labels: dict[str, str] = field(default_factory=dict)

    def destination(self, namespace: str) -> dict[str, str]:
        """Argo CD ``spec.destination``."""
        return {"server": self.server, "namespace": namespace} if self.server else {"name": self.name, "namespace": namespace}


@dataclass(frozen=True)
class Delivery:
    """The resolved ``delivery`` settings of one environment, with the names derived from them."""

    env: str
    namespace: str
    repo_url: str
    branch: str
    engines: tuple[str, ...]
    project: str
    argocd_namespace: str
    flux_namespace: str
    git_secret: str
    targets: tuple[Target, ...]
    fleet: bool
    oci: OciSource | None = None

    @property
    def root(self) -> str:
        """The environment folder in the env repo."""
        return f"env/{self.env}"

    def folder(self, engine: str, target: Target | None = None) -> str:
        """Folder (relative to the environment folder) that an engine's root object applies."""
        base = f"{DELIVERY_DIR}/{engine}"
        return f"{base}/{CLUSTERS_DIR}/{target.key}" if target is not None and target.key else base

    def bootstrap(self, engine: str) -> str:
        return f"{DELIVERY_DIR}/{engine}/{BOOTSTRAP_DIR}"

    def app_name(self, target: Target, component: str) -> str:
        """Name of the Application / Kustomization of one component on one cluster."""
        return "-".join(p for p in (self.env, target.key, component) if p)

    def labels(self, target: Target | None = None, component: str | None = None, wave: int | None = None) -> dict[str, str]:
        out = {**MANAGED_BY, ENV_LABEL: self.env}
        if target is not None and target.key:
            out[CLUSTER_LABEL] = target.key
            out.update(target.labels)
        if component is not None:
            out[COMPONENT_LABEL] = component
        if wave is not None:
            out[WAVE_LABEL] = str(wave)
        return dict(sorted(out.items()))


def where(env: Environment, *path: str) -> Location:
    """Where the overlay chain set ``delivery.<path>`` (or the nearest setting around it)."""
    want: tuple[str | int, ...] = ("delivery", *path)
    while want:
        if want in env.settings_origins:
            return env.settings_origins[want][-1]
        inside = [locs[-1] for p, locs in env.settings_origins.items() if p[: len(want)] == want]
        if inside:
            return inside[0]
        want = want[:-1]
    return Location(f"overlays/{env.name}/env.yaml", 1, 1)


def _target(raw: dict[str, Any], key: str, fleet: bool) -> Target:
    server, name = str(raw.get("server") or ""), str(raw.get("name") or "")
    secret = str(raw.get("kubeconfig_secret") or "")
    if fleet:
        name = key  # a fleet member's name is also its Argo CD cluster name
        if not secret and server != IN_CLUSTER:
            secret = f"{key}-kubeconfig"  # the Cluster API convention
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    return Target(key, server, name if not server else "", secret, labels)


def _oci_source(env: Environment, raw: dict[str, Any], problems: list[Problem]) -> OciSource | None:
    """``delivery.source: oci``: Flux pulls the environment's bundle (``ccp-gitops bundle``) from a registry."""
    if raw.get("source", "git") != "oci":
        return None
    oci = OciSource.from_settings(dict(raw.get("oci") or {}), default_tag=env.name)
    problems.extend(Problem(where(env, "oci"), f"delivery.oci: {message}") for message in oci.problems())
    return oci


def settings(env: Environment, engines: list[str] | None = None) -> Delivery:
    """The delivery settings of ``env`` (``engines`` overrides the overlay's); InputError on bad combinations."""
    raw: dict[str, Any] = dict(env.settings.get("delivery") or {})
    problems: list[Problem] = []
    chosen = tuple(e for e in ENGINES if e in (engines if engines is not None else raw.get("engines") or ["argocd"]))
    cluster = dict(raw.get("cluster") or {"server": IN_CLUSTER})
    if cluster.get("server") and cluster.get("name"):
        problems.append(Problem(where(env, "cluster"), "delivery.cluster: give either server or name, not both (the overlay chain set both)"))
    members = list(raw.get("clusters") or [])
    targets = tuple(_target(m, str(m["name"]), True) for m in members) or (_target(cluster, "", False),)
    seen: set[str] = set()
    for target in targets:
        if target.key in seen:
            problems.append(Problem(where(env, "clusters"), f"delivery.clusters: cluster {target.key!r} is listed twice"))
        seen.add(target.key)
    delivery = Delivery(
        env=env.name,
        namespace=env.namespace,
        repo_url=str(raw.get("repo_url")),
        branch=str(raw.get("branch") or "main"),
        engines=chosen,
        project=str(raw.get("project") or env.name),
        argocd_namespace=str(raw.get("argocd_namespace") or "argocd"),
        flux_namespace=str(raw.get("flux_namespace") or "flux-system"),
        git_secret=str(raw.get("git_secret") or ""),
        targets=targets,
        fleet=bool(members),
        oci=_oci_source(env, raw, problems),
    )
    if "flux" in chosen and delivery.oci is None and not FLUX_URL.match(delivery.repo_url):
        problems.append(Problem(where(env, "repo_url"), f"delivery.repo_url {delivery.repo_url!r}: Flux needs an http://, https:// or ssh:// URL"))
    for target in targets:
        for comp in [*env.components, *(["namespace"] if "flux" in chosen else [])]:
            name = delivery.app_name(target, comp)
            if len(name) > NAME_MAX:
                problems.append(Problem(where(env, "clusters" if target.key else "cluster"), f"delivery object name {name!r} is longer than {NAME_MAX} characters: use shorter environment, cluster or component names"))
    if problems:
        raise InputError(problems)
    return delivery


@dataclass
class Folder:
    """A delivery folder: its objects, and sub-folders its kustomization.yaml also lists."""

    manifests: list[dict[str, Any]] = field(default_factory=list)
    subfolders: list[str] = field(default_factory=list)


def file_name(manifest: dict[str, Any]) -> str:
    return f"{str(manifest['kind']).lower()}-{manifest['metadata']['name']}.yaml"


def folder_files(folder: Folder, emit: Emitter = emit_object) -> dict[str, bytes]:
    """One file per object plus a kustomization.yaml listing the files and sub-folders (plain resources)."""
    files = {file_name(m): emit(m) for m in folder.manifests}
    files["kustomization.yaml"] = kustomization(sorted(files) + sorted(folder.subfolders), emit)
    return files

