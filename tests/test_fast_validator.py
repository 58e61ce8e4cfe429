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


def _python_schema_error(schema: dict[str, Any]) -> str:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return str(exc.message)
    return ""


def test_values_schema_check_is_the_python_check() -> None:
    import json

    from ccp_gitops.compile.resolve import _schema_error

    schemas: list[dict[str, Any]] = [
        {"type": "strin"},
        {"type": "object", "properties": {"a": {"pattern": "(unclosed"}}},
        {"patternProperties": {"(": {"type": "string"}}},
        {"properties": {"a": {"minimum": "x"}}},
        {"required": "a"},
        {"type": "object", "properties": {"pattern": {"type": "string", "pattern": "^[a-z]+$"}}},
    ]
    for path in sorted(ROOT.glob("components/*/component.yaml")):
        found = yaml.safe_load(path.read_text()).get("values_schema")
        if isinstance(found, dict):
            schemas.append(found)
    assert len(schemas) > 10
    for schema in schemas:
        assert _schema_error(json.dumps(schema, sort_keys=True)) == _python_schema_error(schema), schema
