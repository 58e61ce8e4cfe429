"""The Flux OCIRepository delivery variant, validated against the real Flux CRDs in ../shared/crds."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.delivery.oci_source import OciSource, oci_repository
from ccp_gitops.model.problems import Location
from ccp_gitops.oci.bundle import run_bundle
from ccp_gitops.repo.write import WriteOptions, run_compile

URL = "oci://registry.example.com/openstack/env-prod"
DIGEST = "sha256:" + "ab" * 32


def openapi_to_jsonschema(node: Any) -> Any:
    """A CRD's OpenAPI v3 schema as JSON Schema: ``nullable`` becomes a null type, int-or-string an anyOf."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_jsonschema(value) for key, value in node.items() if key != "nullable"}
    if node.get("x-kubernetes-int-or-string") and "type" not in node:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def crd_validator(crds_dir: Path, file_name: str, version: str) -> Draft202012Validator:
    crd = yaml.safe_load((crds_dir / file_name).read_text())
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    assert version in served, f"{file_name} does not serve {version} (serves {sorted(served)})"
    schema = openapi_to_jsonschema(served[version]["schema"]["openAPIV3Schema"])
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, obj: dict[str, Any]) -> list[str]:
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj))


@pytest.fixture
def oci_crd(crds_dir: Path) -> Draft202012Validator:
    return crd_validator(crds_dir, "source.toolkit.fluxcd.io_ocirepositories.yaml", "v1")


@pytest.fixture
def kustomization_crd(crds_dir: Path) -> Draft202012Validator:
    return crd_validator(crds_dir, "kustomize.toolkit.fluxcd.io_kustomizations.yaml", "v1")


def test_the_converter_handles_nullable() -> None:
    schema = openapi_to_jsonschema({"type": "object", "properties": {"a": {"type": "string", "nullable": True}}})
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"a": None}) and validator.is_valid({"a": "x"}) and not validator.is_valid({"a": 1})


def test_by_tag_validates_against_the_crd(oci_crd: Draft202012Validator) -> None:
    obj = oci_repository("openstack-env", "flux-system", OciSource(URL, tag="prod"))
    assert errors(oci_crd, obj) == []
    assert obj["apiVersion"] == "source.toolkit.fluxcd.io/v1" and obj["kind"] == "OCIRepository"
    assert obj["spec"]["ref"] == {"tag": "prod"}
    assert obj["spec"]["url"] == URL and obj["spec"]["provider"] == "generic"
    assert obj["spec"]["layerSelector"] == {"mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip", "operation": "extract"}


def test_by_digest_validates_against_the_crd(oci_crd: Draft202012Validator) -> None:
    source = OciSource(URL, digest=DIGEST, interval="1m", provider="aws", secret_ref="registry-creds", insecure=True)
    obj = oci_repository("openstack-env", "flux-system", source)
    assert errors(oci_crd, obj) == []
    assert obj["spec"]["ref"] == {"digest": DIGEST}
    assert obj["spec"]["secretRef"] == {"name": "registry-creds"} and obj["spec"]["insecure"] is True


def test_the_crd_check_is_real(oci_crd: Draft202012Validator) -> None:
    good = oci_repository("openstack-env", "flux-system", OciSource(URL, tag="prod"))
    for path, value, expected in (
        (("spec", "url"), "https://registry.example.com/x", "spec.url: 'https://registry.example.com/x' does not match"),
        (("spec", "provider"), "docker", "spec.provider: 'docker' is not one of"),
        (("spec", "interval"), "soon", "spec.interval: 'soon' does not match"),
        (("spec", "layerSelector", "operation"), "unpack", "spec.layerSelector.operation: 'unpack' is not one of"),
    ):
        bad = copy.deepcopy(good)
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        found = errors(oci_crd, bad)
        assert len(found) == 1 and found[0].startswith(expected), found
    missing = copy.deepcopy(good)
    del missing["spec"]["interval"]
    assert errors(oci_crd, missing) == ["spec: 'interval' is a required property"]


def test_a_kustomization_keeps_its_path_with_the_oci_source(kustomization_crd: Draft202012Validator) -> None:
    """The bundle keeps env/<env>/ paths, so only sourceRef changes between git and OCI delivery."""
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "memcached", "namespace": "flux-system"},
        "spec": {
            "interval": "10m",
            "path": "./env/prod/memcached",
            "prune": True,
            "wait": True,
            "sourceRef": {"kind": "OCIRepository", "name": "openstack-env"},
        },
    }
    assert errors(kustomization_crd, kustomization) == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (OciSource("https://registry.example.com/x", tag="prod"), "url: 'https://registry.example.com/x' must be oci://HOST/REPOSITORY"),
        (OciSource("oci://registry.example.com", tag="prod"), "must be oci://HOST/REPOSITORY"),
        (OciSource(URL + ":prod", tag="prod"), "must name the repository only"),
        (OciSource(URL), "give exactly one of tag and digest"),
        (OciSource(URL, tag="prod", digest=DIGEST), "give exactly one of tag and digest"),
        (OciSource(URL, tag="-prod"), "tag: '-prod' is not an OCI tag"),
        (OciSource(URL, digest="sha256:abc"), "digest: 'sha256:abc' must be sha256: followed by 64"),
        (OciSource(URL, tag="prod", interval="5 minutes"), "interval: '5 minutes' is not a duration"),
        (OciSource(URL, tag="prod", provider="docker"), "provider: 'docker' is not one of generic, aws, azure, gcp"),
    ],
)
def test_bad_settings_are_reported(source: OciSource, problem: str) -> None:
    found = source.problems()
    assert len(found) == 1 and problem in found[0], found
    with pytest.raises(ValueError, match="^" + re.escape(found[0]) + "$"):
        oci_repository("openstack-env", "flux-system", source)


def test_registry_port_is_allowed() -> None:
    assert OciSource("oci://localhost:5000/openstack/env", tag="prod").problems() == []


def test_from_overlay_settings() -> None:
    assert OciSource.from_settings({"url": URL}, default_tag="prod") == OciSource(URL, tag="prod")
    pinned = OciSource.from_settings({"url": URL, "digest": DIGEST, "interval": "1m"}, default_tag="prod")
    assert pinned == OciSource(URL, digest=DIGEST, interval="1m")
    with pytest.raises(ValueError, match="unknown delivery.oci setting\\(s\\) branch; allowed: url, tag"):
        OciSource.from_settings({"url": URL, "branch": "main"}, default_tag="prod")


def test_promote_a_bundle_by_its_digest(tmp_path: Path, catalogue: Path, oci_crd: Draft202012Validator) -> None:
    """The digest `bundle` prints is what an OCIRepository pins to promote that exact release."""
    run_compile(SessionSpec(catalogue), ["env/prod"], WriteOptions(tmp_path / "env-repo"))
    bundle = run_bundle(tmp_path / "env-repo", "prod", None, tmp_path / "oci")
    obj = oci_repository("openstack-env", "flux-system", OciSource(URL, digest=bundle.digest))
    assert errors(oci_crd, obj) == []
    assert obj["spec"]["ref"] == {"digest": bundle.digest}


def _oci_overlay(source: Path, oci: str) -> None:
    env_file = source / "overlays/prod/env.yaml"
    env_file.write_text(env_file.read_text() + f"delivery:\n  engines: [flux]\n  source: oci\n  oci: {oci}\n")


def test_overlay_delivers_through_an_oci_repository(source_copy: Path, crds_dir: Path) -> None:
    from ccp_gitops.checks.k8s.schema import SchemaChecker
    from ccp_gitops.compile.parallel import compile_all

    digest = "sha256:" + "ab" * 32
    _oci_overlay(source_copy, "{url: oci://registry.example.com/openstack-env, digest: " + digest + "}")
    [compiled] = compile_all(source_copy, ["prod"])
    bootstrap = {p: y for p, y in compiled.tree.files.items() if "/delivery/flux/bootstrap/" in p}
    repo_file = next(data for path, data in bootstrap.items() if "ocirepository-" in path)
    repository = yaml.safe_load(repo_file)
    assert repository["spec"]["ref"] == {"digest": digest}
    assert not any("gitrepository-" in p for p in compiled.tree.files)
    checker = SchemaChecker("1.33", [crds_dir])
    flux = [yaml.safe_load(d) for p, d in compiled.tree.files.items() if "/delivery/flux/" in p and not p.endswith("kustomization.yaml")]
    for obj in flux:
        assert checker.check(obj, Location("t", 1, 1)) == [], obj
        if obj["kind"] == "Kustomization":
            assert obj["spec"]["sourceRef"] == {"kind": "OCIRepository", "name": "prod"}


def test_bad_oci_settings_are_located_input_errors(source_copy: Path) -> None:
    from .conftest import cli

    _oci_overlay(source_copy, "{url: oci://registry.example.com/openstack-env, tag: prod, digest: sha256:1}")
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "overlays/prod/env.yaml:" in proc.stderr and "sha256" in proc.stderr
