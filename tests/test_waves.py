"""Resource waves inside a component, and the Argo CD / Flux ordering simulation."""

from __future__ import annotations

from typing import Any

import pytest

from ccp_gitops.compile.waves import FLUX_PRUNE, SYNC_OPTIONS, SYNC_WAVE, annotate
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import InputError, Location
from ccp_gitops.model.resid import ResId
from ccp_gitops.order.apply_order import (
    FLUX_CLASSES,
    FLUX_DEFINITIONS,
    FLUX_RESOURCES,
    KIND_ORDER,
    argo_sync_order,
    argo_wave,
    flux_apply_stages,
)

from .compiled import FIXTURE, compile_env


def manifest(kind: str, name: str, api: str = "v1", ns: str | None = "ns") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def order(manifests: list[dict[str, Any]]) -> list[str]:
    return [f"{t.phase}:{t.wave}:{t.kind}/{t.name}" for t in argo_sync_order(manifests)]


def with_annotations(m: dict[str, Any], **annotations: str) -> dict[str, Any]:
    m["metadata"].setdefault("annotations", {}).update(annotations)
    return m


# --- Argo CD: gitops-engine syncTasks ordering ---------------------------------------------------


def test_kind_order_is_the_gitops_engine_list() -> None:
    assert KIND_ORDER[:3] == ("Namespace", "NetworkPolicy", "ResourceQuota")
    assert KIND_ORDER[-5:] == ("Job", "CronJob", "IngressClass", "Ingress", "APIService")
    assert len(KIND_ORDER) == 35


def test_same_wave_sorts_by_kind_then_name_and_custom_kinds_last() -> None:
    objs = [
        manifest("Deployment", "a", "apps/v1"),
        manifest("ExternalSecret", "a", "external-secrets.io/v1"),
        manifest("ConfigMap", "z"),
        manifest("ConfigMap", "b"),
        manifest("Service", "a"),
        manifest("Job", "a", "batch/v1"),
    ]
    assert order(objs) == [
        "Sync:0:ConfigMap/b",
        "Sync:0:ConfigMap/z",
        "Sync:0:Service/a",
        "Sync:0:Deployment/a",
        "Sync:0:Job/a",
        "Sync:0:ExternalSecret/a",
    ]


def test_wave_beats_kind_and_phase_beats_wave() -> None:
    objs = [
        with_annotations(manifest("ConfigMap", "late"), **{SYNC_WAVE: "3"}),
        with_annotations(manifest("Deployment", "early", "apps/v1"), **{SYNC_WAVE: "-2"}),
        with_annotations(manifest("Job", "migrate", "batch/v1"), **{"argocd.argoproj.io/hook": "PreSync", SYNC_WAVE: "9"}),
        with_annotations(manifest("Job", "smoke", "batch/v1"), **{"argocd.argoproj.io/hook": "PostSync"}),
        with_annotations(manifest("Pod", "skipped"), **{"argocd.argoproj.io/hook": "Skip"}),
    ]
    assert order(objs) == ["PreSync:9:Job/migrate", "Sync:-2:Deployment/early", "Sync:3:ConfigMap/late", "PostSync:0:Job/smoke"]


def test_wave_parses_like_go_atoi_and_falls_back_to_the_helm_hook_weight() -> None:
    assert argo_wave(with_annotations(manifest("ConfigMap", "a"), **{SYNC_WAVE: "+4"})) == 4
    assert argo_wave(with_annotations(manifest("ConfigMap", "a"), **{SYNC_WAVE: " 4"})) == 0
    assert argo_wave(with_annotations(manifest("ConfigMap", "a"), **{SYNC_WAVE: "x", "helm.sh/hook-weight": "-3"})) == -3
    assert argo_wave(manifest("ConfigMap", "a")) == 0


def test_namespace_and_crd_move_ahead_of_their_first_user_with_its_wave() -> None:
    crd = with_annotations(
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
         "spec": {"group": "example.com", "names": {"kind": "Widget"}}},
        **{SYNC_WAVE: "5"},
    )  # fmt: skip
    objs = [
        with_annotations(manifest("Namespace", "apps", ns=None), **{SYNC_WAVE: "7"}),
        with_annotations(manifest("ConfigMap", "cfg", ns="apps"), **{SYNC_WAVE: "1"}),
        crd,
        with_annotations(manifest("Widget", "w", "example.com/v1", ns="other"), **{SYNC_WAVE: "2"}),
    ]
    assert order(objs) == [
        "Sync:1:Namespace/apps",
        "Sync:1:ConfigMap/cfg",
        "Sync:2:CustomResourceDefinition/widgets.example.com",
        "Sync:2:Widget/w",
    ]


# --- Flux: ssa.ApplyAllStaged ---------------------------------------------------------------------


def test_flux_stages_keep_build_order_inside_a_stage() -> None:
    objs = [
        manifest("Deployment", "b", "apps/v1"),
        manifest("ClusterRole", "r", "rbac.authorization.k8s.io/v1", ns=None),
        manifest("StorageClass", "fast", "storage.k8s.io/v1", ns=None),
        manifest("ConfigMap", "a"),
        manifest("Namespace", "ns", ns=None),
    ]
    stages = [(stage, [t.name for t in tasks]) for stage, tasks in flux_apply_stages(objs)]
    assert stages == [(FLUX_DEFINITIONS, ["r", "ns"]), (FLUX_CLASSES, ["fast"]), (FLUX_RESOURCES, ["b", "a"])]


# --- resource waves computed by ccp-gitops ----------------------------------------------------------


def _waves(compiled_objs: list[Obj], component: str) -> dict[str, str]:
    return {
        f"{o.id.kind}/{o.body['metadata'].get('labels', {}).get('ccp-gitops.io/job', o.id.name)}": o.body["metadata"]["annotations"][SYNC_WAVE]
        for o in compiled_objs
        if o.component == component
    }


def test_fixture_identity_waves_follow_roles_and_what_each_object_waits_for() -> None:
    compiled = compile_env(FIXTURE, "prod")
    assert _waves(compiled.objects, "identity") == {
        "Password/identity-db": "0",
        "ExternalSecret/identity-db": "1",
        "ConfigMap/identity-config": "2",
        "Service/identity-api": "2",
        "Job/identity-db-sync": "3",
        "Deployment/identity-api": "4",
        # waits (kubernetes-entrypoint DEPENDENCY_SERVICE) for the Service of the Deployment above
        "Job/identity-bootstrap": "5",
        "Ingress/identity": "5",
    }


def test_retained_objects_are_protected_for_both_engines_and_others_are_not() -> None:
    compiled = compile_env(FIXTURE, "prod")
    protected = {
        o.id.kind: o.body["metadata"]["annotations"] for o in compiled.objects if o.component == "compute" or o.component == "database"
    }
    for kind in ("ExternalSecret", "Password", "PersistentVolumeClaim"):
        assert protected[kind][SYNC_OPTIONS] == "Prune=false,Delete=false"
        assert protected[kind][FLUX_PRUNE] == "disabled"
    for kind in ("ConfigMap", "Deployment", "StatefulSet", "Job"):
        assert SYNC_OPTIONS not in protected[kind] and FLUX_PRUNE not in protected[kind]


def _obj(kind: str, name: str, body: dict[str, Any], group: str = "", api: str = "v1") -> Obj:
    full = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns", "labels": {}}, **body}
    return Obj(ResId(group, kind, "ns", name), full, "comp", Location(f"components/comp/templates/{name}.yaml.j2", 1, 1))


def _waiting_pod(variable: str, value: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    env = [{"name": variable, "value": value}]
    return {"spec": {"template": {"metadata": {"labels": labels or {}}, "spec": {"initContainers": [{"name": "w", "env": env}], "containers": []}}}}


def test_objects_that_wait_for_each_other_are_refused_with_the_cycle() -> None:
    job = _obj("Job", "setup", _waiting_pod("DEPENDENCY_SERVICE", "ns:api"), "batch", "batch/v1")
    deploy = _obj("Deployment", "api", _waiting_pod("DEPENDENCY_JOBS", "setup", {"app": "api"}), "apps", "apps/v1")
    service = _obj("Service", "api", {"spec": {"selector": {"app": "api"}}})
    with pytest.raises(InputError) as exc:
        annotate([job, deploy, service])
    (problem,) = exc.value.problems
    assert "can never become ready" in problem.message
    assert "Job/setup" in problem.message and "Deployment/api" in problem.message
    assert str(problem.location).startswith("components/comp/templates/")


def test_a_template_wave_is_kept_and_others_are_placed_after_it() -> None:
    config = _obj("ConfigMap", "cfg", {"data": {"a": "b"}})
    config.body["metadata"]["annotations"] = {SYNC_WAVE: "7"}
    pod = {"spec": {"template": {"spec": {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}}}
    deploy = _obj("Deployment", "api", pod, "apps", "apps/v1")
    annotate([config, deploy])
    assert config.body["metadata"]["annotations"][SYNC_WAVE] == "7"
    assert deploy.body["metadata"]["annotations"][SYNC_WAVE] == "8"


def test_a_wave_that_argo_cd_cannot_parse_is_refused() -> None:
    config = _obj("ConfigMap", "cfg", {})
    config.body["metadata"]["annotations"] = {SYNC_WAVE: "first"}
    with pytest.raises(InputError, match="must be an integer"):
        annotate([config])


def test_template_sync_options_are_kept_and_completed() -> None:
    secret = _obj("ExternalSecret", "pw", {"spec": {}}, "external-secrets.io", "external-secrets.io/v1")
    secret.body["metadata"]["annotations"] = {SYNC_OPTIONS: "Prune=confirm,Replace=true"}
    annotate([secret])
    assert secret.body["metadata"]["annotations"][SYNC_OPTIONS] == "Prune=confirm,Replace=true,Delete=false"


def test_ingress_and_load_balancers_come_after_the_workloads_they_route_to() -> None:
    deploy = _obj("Deployment", "api", _waiting_pod("DEPENDENCY_JOBS", "", {"app": "api"}), "apps", "apps/v1")
    deploy.body["metadata"]["annotations"] = {SYNC_WAVE: "7"}  # e.g. after a chain of Jobs
    service = _obj("Service", "api", {"spec": {"selector": {"app": "api"}}})
    balancer = _obj("Service", "api-public", {"spec": {"type": "LoadBalancer", "selector": {"app": "api"}}})
    backend = {"service": {"name": "api", "port": {"number": 80}}}
    ingress = _obj("Ingress", "api", {"spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}]}}, "networking.k8s.io", "networking.k8s.io/v1")
    annotate([deploy, service, balancer, ingress])
    waves = {f"{o.id.kind}/{o.id.name}": o.body["metadata"]["annotations"][SYNC_WAVE] for o in (deploy, service, balancer, ingress)}
    assert waves == {"Deployment/api": "7", "Service/api": "2", "Service/api-public": "8", "Ingress/api": "8"}
