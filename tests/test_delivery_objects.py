"""The delivery objects: valid against the real CRDs, buildable by kustomize, ordered along every dependency."""

from __future__ import annotations

import graphlib
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from ccp_gitops.checks.k8s.schema import SchemaChecker
from ccp_gitops.checks.kustomize import command as kustomize_command
from ccp_gitops.compile.pipeline import Compiled
from ccp_gitops.delivery.argocd import HEALTH_KEY
from ccp_gitops.model.problems import Location
from ccp_gitops.order.apply_order import argo_sync_order
from ccp_gitops.order.plan import kustomize_objects

from .compiled import FIXTURE, compile_env, objects, write_tree

ROOT = Path(__file__).resolve().parents[1]
# (source, environment): the fixture's single cluster, remote cluster and fleet, and the bundled catalogue.
CASES = [(FIXTURE, "prod"), (FIXTURE, "dev"), (FIXTURE, "fleet"), (ROOT, "prod"), (ROOT, "dev")]
IDS = ["fixture-prod", "fixture-dev", "fixture-fleet", "catalogue-prod", "catalogue-dev"]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob"}


@pytest.fixture
def schemas(crds_dir: Path) -> SchemaChecker:
    """The project's checker: the real CRDs (nullable handled, unknown fields refused) and Kubernetes' own kinds."""
    return SchemaChecker("1.33", [crds_dir])


def problems(checker: SchemaChecker, obj: dict[str, Any]) -> list[str]:
    return [p.message for p in checker.check(obj, Location("generated", 1, 1))]


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def both(request: pytest.FixtureRequest) -> Compiled:
    """The environment compiled for both engines."""
    source, env = request.param
    return compile_env(source, env, ["argocd", "flux"])


def delivery_objects(compiled: Compiled) -> dict[str, dict[str, Any]]:
    return objects(compiled.tree.files, f"{compiled.tree.root}/delivery/")


def by_kind(compiled: Compiled, kind: str) -> list[dict[str, Any]]:
    return [o for o in delivery_objects(compiled).values() if o["kind"] == kind]


# --- CRD schemas ---------------------------------------------------------------------------------


def test_every_delivery_object_validates_against_the_crds(both: Compiled, schemas: SchemaChecker) -> None:
    found = delivery_objects(both)
    assert [p for o in found.values() for p in problems(schemas, o)] == []
    custom = {o["kind"] for o in found.values() if not schemas.is_builtin(o["apiVersion"], o["kind"])}
    assert {"AppProject", "Application", "GitRepository", "Kustomization"} <= custom
    builtin = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in found.values() if schemas.is_builtin(o["apiVersion"], o["kind"]))
    assert builtin == ["ConfigMap/argocd-cm", f"Namespace/{both.env.namespace}"]


def test_the_schema_check_catches_a_misspelt_field(schemas: SchemaChecker) -> None:
    app = dict(by_kind(compile_env(FIXTURE, "prod"), "Application")[0])
    app["spec"] = {**app["spec"], "syncPolicyy": {}}
    assert any("syncPolicyy" in p for p in problems(schemas, app))


def test_the_schema_check_admits_null_where_the_crd_says_nullable(schemas: SchemaChecker) -> None:
    (secret,) = [o.body for o in compile_env(FIXTURE, "prod").objects if o.id.kind == "ExternalSecret" and o.component == "queue"]
    assert problems(schemas, {**secret, "status": {"refreshTime": None}}) == []  # nullable: true in the CRD
    assert problems(schemas, {**secret, "status": {"binding": None}})  # not nullable


# --- kustomize ---------------------------------------------------------------------------------


def delivery_folders(compiled: Compiled) -> list[str]:
    return sorted(p.rsplit("/", 1)[0] for p in compiled.tree.files if "/delivery/" in p and p.endswith("/kustomization.yaml"))


def test_every_delivery_folder_builds_with_kustomize(both: Compiled, tmp_path: Path) -> None:
    write_tree(both.tree.files, tmp_path)
    folders = delivery_folders(both)
    assert f"{both.tree.root}/delivery/argocd/bootstrap" in folders and f"{both.tree.root}/delivery/flux/bootstrap" in folders
    for folder in folders:
        proc = subprocess.run([*kustomize_command(), str(tmp_path / folder)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        built = sorted((o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(proc.stdout) if o)
        ours = sorted((o["kind"], o["metadata"]["name"]) for o in kustomize_objects(both.tree.files, folder))
        assert built == ours, f"{folder}: the plan's reader and kustomize disagree"
    components = subprocess.run([*kustomize_command(), str(tmp_path / both.tree.root)], capture_output=True, text=True)
    assert components.returncode == 0, components.stderr
    assert len([o for o in yaml.safe_load_all(components.stdout) if o]) == len(both.objects)


# --- order along the dependency graph ------------------------------------------------------------


def test_argocd_waves_strictly_increase_along_every_dependency(both: Compiled) -> None:
    for cluster, apps in clusters_of(by_kind(both, "Application")).items():
        wave = {a["metadata"]["labels"]["ccp-gitops.io/component"]: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for a in apps}
        assert set(wave) == set(both.env.components), cluster
        for comp in both.env.components.values():
            for dep in comp.depends_on:
                assert wave[comp.name] > wave[dep], f"{cluster}: {comp.name} (wave {wave[comp.name]}) must come after {dep} (wave {wave[dep]})"


def test_flux_depends_on_covers_every_dependency_and_is_acyclic(both: Compiled) -> None:
    for cluster, units in clusters_of(by_kind(both, "Kustomization")).items():
        comps = {k["metadata"]["labels"].get("ccp-gitops.io/component"): k for k in units}
        comps.pop(None, None)  # the root and namespace Kustomizations
        assert set(comps) == set(both.env.components), cluster
        graph = {k["metadata"]["name"]: {d["name"] for d in k["spec"].get("dependsOn", [])} for k in units}
        for comp in both.env.components.values():
            have = graph[comps[comp.name]["metadata"]["name"]]
            want = {comps[d]["metadata"]["name"] for d in comp.depends_on}
            assert want <= have, f"{cluster}: {comp.name} dependsOn misses {want - have}"
            assert have, f"{comp.name} must at least wait for the namespace"
        list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle


def clusters_of(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per-cluster Applications / Kustomizations, without the root objects."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        labels = item["metadata"].get("labels", {})
        is_root = item["kind"] == "Application" and "ccp-gitops.io/component" not in labels
        is_root = is_root or (item["kind"] == "Kustomization" and item["spec"]["path"].endswith("/delivery/flux"))
        if not is_root:
            out.setdefault(labels.get("ccp-gitops.io/cluster", ""), []).append(item)
    return out


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]  # type: ignore[no-any-return]
    return spec.get("template") or {}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def uses(obj: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """(ConfigMaps, Secrets, Jobs waited for) that a pod template refers to, read independently of ccp-gitops."""
    configmaps: set[str] = set()
    secrets: set[str] = set()
    jobs: set[str] = set()
    for node in _walk(_pod(obj)):
        for key in ("configMap", "configMapRef", "configMapKeyRef"):
            if isinstance(node.get(key), dict):
                configmaps.add(node[key]["name"])
        for key in ("secretRef", "secretKeyRef"):
            if isinstance(node.get(key), dict):
                secrets.add(node[key]["name"])
        if isinstance(node.get("secret"), dict):
            secrets.add(node["secret"].get("secretName") or node["secret"].get("name"))
        if node.get("name") == "DEPENDENCY_JOBS":
            jobs.update(n.strip().rsplit(":", 1)[-1] for n in node["value"].split(","))
    return configmaps, secrets, jobs


def ordering_pairs(compiled: Compiled) -> list[tuple[str, str, int, int, int, int]]:
    """For each component as Argo CD syncs it: (user, used, user index, used index, user wave, used wave)."""
    pairs = []
    for comp in compiled.env.components:
        manifests = kustomize_objects(compiled.tree.files, f"{compiled.tree.root}/{comp}")
        tasks = argo_sync_order(manifests)
        index = {(t.kind, t.name): i for i, t in enumerate(tasks)}
        wave = {(t.kind, t.name): t.wave for t in tasks}
        secret_of = {
            (m["spec"].get("target") or {}).get("name", m["metadata"]["name"]): m["metadata"]["name"] for m in manifests if m["kind"] == "ExternalSecret"
        }
        for m in manifests:
            if m["kind"] != "Job" and m["kind"] not in WORKLOADS:
                continue
            user = (m["kind"], m["metadata"]["name"])
            configmaps, secrets, jobs = uses(m)
            used = [("ConfigMap", n) for n in configmaps] + [("ExternalSecret", secret_of[s]) for s in secrets if s in secret_of]
            if m["kind"] in WORKLOADS:
                used += [("Job", n) for n in jobs]
            for u in used:
                if u in index:
                    pairs.append((f"{user[0]}/{user[1]}", f"{u[0]}/{u[1]}", index[user], index[u], wave[user], wave[u]))
    return pairs


@pytest.mark.parametrize(("source", "env"), CASES, ids=IDS)
def test_argocd_applies_secrets_and_config_before_jobs_and_jobs_before_workloads(source: Path, env: str) -> None:
    compiled = compile_env(source, env)
    pairs = ordering_pairs(compiled)
    for user, used, i_user, i_used, w_user, w_used in pairs:
        assert i_used < i_user and w_used < w_user, f"{used} (wave {w_used}) must be synced, and healthy, before {user} (wave {w_user})"
    if source == FIXTURE:  # the fixture exercises every kind of edge
        kinds = {(u.split("/")[0], d.split("/")[0]) for u, d, *_ in pairs}
        assert {("Job", "ConfigMap"), ("Job", "ExternalSecret"), ("Deployment", "Job"), ("StatefulSet", "ExternalSecret")} <= kinds


# --- what the objects say ------------------------------------------------------------------------


def named(compiled: Compiled, kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(compiled, kind) if o["metadata"]["name"] == name]
    return found


def test_app_projects_grant_only_what_the_environment_needs() -> None:
    compiled = compile_env(FIXTURE, "prod")
    project = named(compiled, "AppProject", "cloud-prod")["spec"]
    assert project["sourceRepos"] == ["https://git.example.com/fixture/env.git"]
    assert project["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "cloud"}]
    assert project["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": "cloud"},
        {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"},
        {"group": "rbac.authorization.k8s.io", "kind": "ClusterRoleBinding"},
    ]
    assert "namespaceResourceWhitelist" not in project
    root = named(compiled, "AppProject", "cloud-prod-root")["spec"]
    assert root["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "argocd"}]
    assert root["namespaceResourceWhitelist"] == [{"group": "argoproj.io", "kind": "Application"}]
    assert "clusterResourceWhitelist" not in root
    catalogue = compile_env(ROOT, "prod")
    rendered = sorted({(o.id.group, o.id.kind) for o in catalogue.objects if o.id.cluster_scoped and o.id.kind != "Namespace"})
    assert named(catalogue, "AppProject", "prod")["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": "openstack"},
        *({"group": g, "kind": k} for g, k in rendered),
    ]


def test_applications_sync_automatically_with_retries_and_the_options_a_rendered_tree_needs() -> None:
    compiled = compile_env(FIXTURE, "prod")
    for app in by_kind(compiled, "Application"):
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert policy["retry"]["limit"] > 0 and policy["retry"]["backoff"]["factor"] > 1
        assert "ServerSideApply=true" not in policy["syncOptions"]
    child = named(compiled, "Application", "prod-identity")
    assert child["spec"]["project"] == "cloud-prod"
    assert child["spec"]["source"] == {"repoURL": "https://git.example.com/fixture/env.git", "targetRevision": "main", "path": "env/prod/identity"}
    assert child["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=true", "PruneLast=true"]
    assert child["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    root = named(compiled, "Application", "prod")
    assert root["spec"]["source"]["path"] == "env/prod/delivery/argocd"
    assert "finalizers" not in root["metadata"]
    assert root["spec"]["ignoreDifferences"] == [
        {"group": "argoproj.io", "kind": "Application", "jsonPointers": ["/spec/syncPolicy/automated", "/operation"]}
    ]


def test_argocd_cm_restores_the_application_health_check_and_the_readme_explains_it() -> None:
    compiled = compile_env(FIXTURE, "prod")
    config = named(compiled, "ConfigMap", "argocd-cm")
    assert config["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    lua = config["data"][HEALTH_KEY]
    assert "obj.status.health.status" in lua and 'hs.status = "Progressing"' in lua
    readme = compiled.tree.files["env/prod/README.md"].decode()
    assert HEALTH_KEY in readme and "1.8" in readme and "kubectl apply -k env/prod/delivery/argocd/bootstrap" in readme


def test_flux_kustomizations_wait_time_out_prune_retry_and_never_substitute() -> None:
    compiled = compile_env(FIXTURE, "prod")
    repo = named(compiled, "GitRepository", "prod")["spec"]
    assert (repo["url"], repo["ref"], repo["secretRef"]) == ("https://git.example.com/fixture/env.git", {"branch": "main"}, {"name": "env-repo-auth"})
    for unit in by_kind(compiled, "Kustomization"):
        spec = unit["spec"]
        assert "postBuild" not in spec and spec["prune"] is True and spec["sourceRef"] == {"kind": "GitRepository", "name": "prod"}
        if not spec["path"].endswith("/delivery/flux"):
            assert spec["wait"] is True and spec["timeout"] and spec["retryInterval"]
    health = {k["metadata"]["name"]: k["spec"].get("healthCheckExprs") for k in by_kind(compiled, "Kustomization")}
    assert health["prod-identity"] == [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "current": "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
            "failed": "status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')",
        }
    ]
    assert health["prod-compute"] is None  # no ExternalSecret there
    assert "${POD_IP}" in compiled.tree.files["env/prod/database/configmap-database-scripts.yaml"].decode()


def test_a_remote_cluster_gets_kubeconfig_on_every_flux_kustomization() -> None:
    compiled = compile_env(FIXTURE, "dev")
    assert not any("/delivery/argocd/" in p for p in compiled.tree.files)
    assert named(compiled, "GitRepository", "dev")["spec"]["ref"] == {"branch": "dev"}
    units = [k for k in by_kind(compiled, "Kustomization") if k["metadata"]["name"] != "dev"]
    assert len(units) == 5
    for unit in units:
        assert unit["spec"]["kubeConfig"] == {"secretRef": {"name": "dev-kubeconfig", "key": "value"}}


def test_one_compiled_tree_serves_a_fleet() -> None:
    compiled = compile_env(FIXTURE, "fleet", ["argocd", "flux"])
    appset = named(compiled, "ApplicationSet", "fleet")["spec"]
    assert appset["generators"] == [{"list": {"elements": [{"cluster": "eu-1"}, {"cluster": "us-1"}]}}]
    assert appset["template"]["spec"]["source"]["path"] == "env/fleet/delivery/argocd/clusters/{{.cluster}}"
    eu, us = named(compiled, "Application", "fleet-eu-1-identity"), named(compiled, "Application", "fleet-us-1-identity")
    assert eu["spec"]["destination"] == {"server": "https://eu-1.k8s.example.com:6443", "namespace": "cloud"}
    assert us["spec"]["destination"] == {"name": "us-1", "namespace": "cloud"}
    assert eu["spec"]["source"]["path"] == us["spec"]["source"]["path"] == "env/fleet/identity"
    assert eu["metadata"]["labels"]["region"] == "eu"
    assert named(compiled, "AppProject", "cloud-prod")["spec"]["destinations"] == [
        {"server": "https://eu-1.k8s.example.com:6443", "namespace": "cloud"},
        {"name": "us-1", "namespace": "cloud"},
    ]
    flux_eu = named(compiled, "Kustomization", "fleet-eu-1-identity")["spec"]
    assert flux_eu["dependsOn"] == [{"name": "fleet-eu-1-database"}, {"name": "fleet-eu-1-queue"}]
    assert flux_eu["kubeConfig"] == {"secretRef": {"name": "eu-1-kubeconfig", "key": "value"}}
    assert named(compiled, "Kustomization", "fleet-us-1-namespace")["spec"]["kubeConfig"]["secretRef"]["name"] == "us-1-kubeconfig"
    components = sorted(p for p in compiled.tree.files if p.endswith("/kustomization.yaml") and "/delivery/" not in p)
    assert components == sorted([f"env/fleet/{c}/kustomization.yaml" for c in ("compute", "database", "identity", "queue")] + ["env/fleet/kustomization.yaml"])
