"""Every environment the catalogue ships compiles, builds with kustomize as Argo CD / Flux would,
and every object of this catalogue's components validates against its schema."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .support import compiled, find, kustomize_build, validate_builtin

ENVS = ["dev", "staging", "prod", "prod-eu"]
MINE = {"rabbitmq", "glance", "horizon", "logging", "monitoring"}
CRD_GROUPS = {"external-secrets.io", "generators.external-secrets.io"}


@pytest.mark.parametrize("env", ENVS)
def test_kustomize_builds(catalogue: Path, tmp_path: Path, env: str) -> None:
    docs = [d for d in yaml.safe_load_all(kustomize_build(catalogue, env, tmp_path)) if d]
    kinds = {d["kind"] for d in docs}
    assert {"StatefulSet", "Deployment", "DaemonSet", "Service", "Job", "ExternalSecret"} <= kinds
    assert "Secret" not in kinds
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] == "Deployment"} == {compiled(catalogue, env).env.namespace}


@functools.lru_cache(maxsize=None)
def _crd_validators(crds_dir: Path) -> dict[tuple[str, str, str], Any]:
    """(group, version, kind) -> validator of every served version of the External Secrets CRDs."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    validators = {}
    for path in sorted(crds_dir.glob("*external-secrets.io_*.yaml")):
        for crd in yaml.load_all(path.read_text(), Loader=loader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    schema = version["schema"]["openAPIV3Schema"]
                    validators[(spec["group"], version["name"], spec["names"]["kind"])] = jsonschema.Draft202012Validator(schema)
    return validators


@pytest.mark.parametrize("env", ENVS)
def test_objects_match_their_schemas(catalogue: Path, crds_dir: Path, env: str) -> None:
    result = compiled(catalogue, env)
    version = str(result.env.settings["kubernetes_version"])
    crds = _crd_validators(crds_dir)
    for obj in result.objects:
        if obj.component not in MINE:
            continue
        if obj.id.group in CRD_GROUPS:
            group, api_version = obj.body["apiVersion"].split("/")
            crds[(group, api_version, obj.id.kind)].validate(obj.body)
        else:
            validate_builtin(obj.body, version)


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

    def ids(objs: list[Any]) -> set[tuple[str, str]]:
        return {(o.id.kind, o.body["metadata"]["labels"].get("ccp-gitops.io/job", o.id.name)) for o in objs}

    assert ids(eu.objects) == ids(prod.objects)
    ingress = find(catalogue, "prod-eu", "glance", "Ingress", "glance-api")
    assert ingress["spec"]["rules"][0]["host"] == "image.eu.openstack.example.com"
    assert find(catalogue, "prod-eu", "glance", "Deployment", "glance-api")["spec"]["replicas"] == 2
