"""Every environment the catalogue ships compiles, builds with kustomize as Argo CD / Flux would,
and every object of this catalogue's components validates against its schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ccp_gitops.checks.k8s.schema import SchemaChecker
from ccp_gitops.model.objects import Obj

from .support import compiled, find, kustomize_build

ENVS = ["dev", "staging", "prod", "prod-eu"]
CRD_GROUPS = {"external-secrets.io", "generators.external-secrets.io"}


@pytest.mark.parametrize("env", ENVS)
def test_kustomize_builds(catalogue: Path, tmp_path: Path, env: str) -> None:
    docs = [d for d in yaml.safe_load_all(kustomize_build(catalogue, env, tmp_path)) if d]
    kinds = {d["kind"] for d in docs}
    assert {"StatefulSet", "Deployment", "DaemonSet", "Service", "Job", "ExternalSecret"} <= kinds
    assert "Secret" not in kinds
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] == "Deployment"} == {compiled(catalogue, env).env.namespace}


@pytest.mark.parametrize("env", ENVS)
def test_objects_match_their_schemas(catalogue: Path, crds_dir: Path, env: str) -> None:
    """Every object, strictly, against Kubernetes' OpenAPI schema and the reference CRDs."""
    result = compiled(catalogue, env)
    checker = SchemaChecker(str(result.env.settings["kubernetes_version"]), [crds_dir])
    problems = [str(p) for obj in result.objects for p in checker.check(obj.body, obj.origin)]
    assert problems == []
    assert {o.id.group for o in result.objects} >= CRD_GROUPS


def test_staging_sizes(catalogue: Path) -> None:
    assert find(catalogue, "staging", "rabbitmq", "StatefulSet", "rabbitmq")["spec"]["replicas"] == 3
    for component, name in (("glance", "glance-api"), ("horizon", "horizon")):
        assert find(catalogue, "staging", component, "Deployment", name)["spec"]["replicas"] == 2
    assert ("PodDisruptionBudget") in {o.id.kind for o in compiled(catalogue, "staging").objects if o.component == "rabbitmq"}


def test_prod_apis_are_redundant(catalogue: Path) -> None:
    for env in ("prod", "prod-eu"):
        for component, name in (("glance", "glance-api"), ("horizon", "horizon")):
            assert find(catalogue, env, component, "Deployment", name)["spec"]["replicas"] >= 2
        assert find(catalogue, env, "rabbitmq", "StatefulSet", "rabbitmq")["spec"]["replicas"] == 3


def test_prod_eu_differs_only_in_region_domain_and_size(catalogue: Path) -> None:
    prod, eu = compiled(catalogue, "prod"), compiled(catalogue, "prod-eu")
    assert eu.env.chain == ["prod", "prod-eu"]
    assert eu.env.settings["region"] == "EU1"
    assert eu.env.settings["values"]["public_domain"] == "eu.openstack.example.com"
    assert eu.env.settings["features"] == prod.env.settings["features"]
    assert eu.env.namespace == prod.env.namespace
    assert list(eu.env.components) == list(prod.env.components)

    def ids(objs: list[Obj]) -> set[tuple[str, str]]:
        return {(o.id.kind, o.body["metadata"]["labels"].get("ccp-gitops.io/job", o.id.name)) for o in objs}

    assert ids(eu.objects) == ids(prod.objects)
    ingress = find(catalogue, "prod-eu", "glance", "Ingress", "glance-api")
    assert ingress["spec"]["rules"][0]["host"] == "image.eu.openstack.example.com"
    assert find(catalogue, "prod-eu", "glance", "Deployment", "glance-api")["spec"]["replicas"] == 2
