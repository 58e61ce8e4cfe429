"""The Rust validator's "valid" agrees with the Python validator on every object of a compile and on broken ones."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import yaml

from ccp_gitops.checks.k8s.schema import SchemaChecker
from ccp_gitops.model.resid import split_api_version

from .conftest import CRDS, ROOT, cli


def _unknown_field(obj: dict[str, Any]) -> None:
    obj["spec" if "spec" in obj else "bogus"] = {**obj.get("spec", {}), "notAField": 1}


def _wrong_type(obj: dict[str, Any]) -> None:
    obj["metadata"]["labels"] = {"app": 3}


def _bad_replicas(obj: dict[str, Any]) -> None:
    if "replicas" in obj.get("spec", {}):
        obj["spec"]["replicas"] = "three"
    else:
        obj["kind"] = obj["kind"]  # unchanged: must stay valid
        obj["apiVersion"] = obj["apiVersion"]


MUTATIONS: list[Callable[[dict[str, Any]], None]] = [_unknown_field, _wrong_type, _bad_replicas]


def test_rust_and_python_validators_agree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert cli("compile", "env/prod", "--repo", str(repo), "--crds", str(CRDS), cwd=ROOT).returncode == 0
    objects = [
        doc
        for path in sorted((repo / "env/prod").rglob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and "apiVersion" in doc
    ]
    assert len(objects) > 200
    checker = SchemaChecker("1.33", [CRDS])
    checked = 0
    for original in objects:
        for mutate in [lambda o: None, *MUTATIONS]:
            obj = copy.deepcopy(original)
            mutate(obj)
            group, version = split_api_version(obj["apiVersion"])
            python = checker.validator_for(obj["apiVersion"], obj["kind"])
            fast = checker._fast.valid((group, version, obj["kind"]), python.schema, obj)
            assert fast == python.is_valid(obj), (obj["kind"], obj["metadata"].get("name"), mutate)
            checked += 1
    assert checked == 4 * len(objects)
    assert all(v is not None for v in checker._fast._validators.values())  # every schema compiled in Rust
