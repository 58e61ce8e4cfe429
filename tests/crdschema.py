"""Test helper: validate manifests against the openAPIV3Schema of the real CRDs in ../shared/crds.

Stands in for ccp_gitops.check_schema until that lands. The OpenAPI dialect is converted to JSON
Schema: ``nullable: true`` admits null, and an object schema that lists properties without
``additionalProperties`` or ``x-kubernetes-preserve-unknown-fields`` rejects unknown fields
(the API server would silently prune them, which hides typos).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253},
        "namespace": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def openapi_to_jsonschema(node: Any) -> Any:
    """A copy of an OpenAPI v3 (structural) schema as JSON Schema draft 7."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items() if k not in ("properties", "nullable")}
    if "properties" in node:
        out["properties"] = {k: openapi_to_jsonschema(v) for k, v in node["properties"].items()}
        if "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


class CrdSchemas:
    """Validators for every served version of every CRD in a folder."""

    def __init__(self, crds_dir: Path) -> None:
        self.validators: dict[tuple[str, str], Draft7Validator] = {}
        for path in sorted(crds_dir.glob("*.yaml")):
            crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                schema = openapi_to_jsonschema(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                schema.setdefault("properties", {})["metadata"] = METADATA
                schema["properties"]["apiVersion"] = {"const": f"{group}/{version['name']}"}
                schema["properties"]["kind"] = {"const": kind}
                schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
                self.validators[(f"{group}/{version['name']}", kind)] = Draft7Validator(schema)

    def covers(self, manifest: dict[str, Any]) -> bool:
        return (manifest.get("apiVersion"), manifest.get("kind")) in self.validators

    def problems(self, manifest: dict[str, Any]) -> list[str]:
        """Every schema violation, as ``Kind/name: path: message``; an unknown apiVersion/kind is one."""
        key = (manifest.get("apiVersion"), manifest.get("kind"))
        name = f"{manifest.get('kind')}/{(manifest.get('metadata') or {}).get('name')}"
        validator = self.validators.get(key)  # type: ignore[arg-type]
        if validator is None:
            return [f"{name}: no served CRD version for {key}"]
        return [
            f"{name}: {'/'.join(str(p) for p in err.absolute_path) or '.'}: {err.message}"
            for err in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
        ]


@lru_cache(maxsize=None)
def crd_schemas(crds_dir: Path) -> CrdSchemas:
    """One parse of the CRDs per test process (the ApplicationSet CRD alone is 23k lines)."""
    return CrdSchemas(crds_dir)
