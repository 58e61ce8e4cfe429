"""CustomResourceDefinitions: read CRD files (cached), and convert their OpenAPI v3 schemas to JSON Schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from ccp_gitops.checks.k8s.catalogue import ANNOTATION_KEYWORDS, INT_BOUNDS, copy_schema
from ccp_gitops.model.problems import Location, Problem

# OpenAPI v3 (structural schema) keywords copied unchanged into JSON Schema.
_CRD_PLAIN_KEYWORDS = (
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)


@dataclass(frozen=True)
class CrdVersion:
    name: str
    served: bool
    schema: Mapping[str, Any] | None


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    name: str
    origin: Location
    versions: tuple[CrdVersion, ...]

    def served_names(self) -> list[str]:
        return [v.name for v in self.versions if v.served]


@dataclass(frozen=True)
class CrdFile:
    crds: tuple[Crd, ...]
    problems: tuple[Problem, ...]


def _strip_annotations(node: Any) -> Any:
    """A CRD schema without descriptions (most of a CRD's bytes); property names are kept."""
    return copy_schema(node, lambda key, value, out: key in ANNOTATION_KEYWORDS or key == "x-kubernetes-validations")


def _yaml_loader() -> type[yaml.SafeLoader]:
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def read_crd_file(path: Path) -> CrdFile:
    """The CRDs of one file, parsed (memoized in this process by path and content)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return CrdFile((), (Problem(Location(str(path)), f"cannot read CRD file: {exc}"),))
    return _parse_crd_file(str(path), raw)


@lru_cache(maxsize=64)
def _parse_crd_file(path: str, raw: bytes) -> CrdFile:
    """Parse the CRDs of one file; unreadable or malformed ones are problems."""
    crds: list[Crd] = []
    problems: list[Problem] = []
    try:
        documents = list(yaml.load_all(raw.decode("utf-8"), Loader=_yaml_loader()))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        return CrdFile((), (Problem(Location(path, line, col), f"cannot parse CRD file: {exc.problem}"),))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return CrdFile((), (Problem(Location(path), f"cannot read CRD file: {exc}"),))
    for number, document in enumerate(documents, start=1):
        if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
            continue
        where = Location(path)
        label = f"document {number} ({(document.get('metadata') or {}).get('name', '?')})"
        if document.get("apiVersion") != "apiextensions.k8s.io/v1":
            problems.append(
                Problem(
                    where,
                    f"{label}: only apiextensions.k8s.io/v1 CRDs are supported, "
                    f"not {document.get('apiVersion')!r}",
                )
            )
            continue
        try:
            spec = document["spec"]
            group = str(spec["group"])
            kind = str(spec["names"]["kind"])
            versions = []
            for entry in spec["versions"]:
                schema = (entry.get("schema") or {}).get("openAPIV3Schema")
                if not isinstance(schema, dict):
                    problems.append(
                        Problem(where, f"{label}: version {entry['name']} has no openAPIV3Schema")
                    )
                    schema = None
                else:
                    schema = _strip_annotations(schema)
                versions.append(CrdVersion(str(entry["name"]), bool(entry.get("served", False)), schema))
        except (KeyError, TypeError) as exc:
            problems.append(Problem(where, f"{label}: malformed CustomResourceDefinition ({exc!r})"))
            continue
        crd_name = str((document.get("metadata") or {}).get("name") or f"{kind}.{group}")
        crds.append(Crd(group, kind, crd_name, where, tuple(versions)))
    return CrdFile(tuple(crds), tuple(problems))


def crd_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in {".yaml", ".yml", ".json"} and p.is_file())


def _python_regex(pattern: Any) -> bool:
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        return False
    return True


def _openapi_to_jsonschema(
    node: Mapping[str, Any], object_meta: Mapping[str, Any], *, structural: bool = True
) -> dict[str, Any]:
    """Convert one node of a CRD's structural OpenAPI v3 schema to JSON Schema 2020-12.

    ``structural`` is False inside allOf/anyOf/oneOf/not, where Kubernetes only allows value
    validations: no unknown-field strictness is added there.
    """
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    out, types = _value_keywords(node, int_or_string)
    embedded = node.get("x-kubernetes-embedded-resource") is True
    properties = {name: _openapi_to_jsonschema(sub, object_meta, structural=structural) for name, sub in (node.get("properties") or {}).items()}
    if embedded:
        properties.setdefault("apiVersion", {"type": "string", "minLength": 1})
        properties.setdefault("kind", {"type": "string", "minLength": 1})
        properties["metadata"] = _metadata_schema(node.get("properties", {}).get("metadata"), object_meta)
    if properties:
        out["properties"] = properties
    required = _required(node, embedded)
    if required:
        out["required"] = required

    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = _openapi_to_jsonschema(additional, object_meta, structural=structural)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    elif structural and node.get("x-kubernetes-preserve-unknown-fields") is not True and (properties or types in (["object"], ["object", "null"])):
        # Kubernetes prunes unknown fields, and strict field validation rejects them.
        out["additionalProperties"] = False

    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _openapi_to_jsonschema(items, object_meta, structural=structural)
    if not int_or_string:  # controller-gen repeats int-or-string as anyOf [integer, string]
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in node:
                out[keyword] = [_openapi_to_jsonschema(sub, object_meta, structural=False) for sub in node[keyword]]
    if isinstance(node.get("not"), dict):
        out["not"] = _openapi_to_jsonschema(node["not"], object_meta, structural=False)
    return out


def _value_keywords(node: Mapping[str, Any], int_or_string: bool) -> tuple[dict[str, Any], list[str]]:
    """The type and value validations of a node (the part that is the same in and out of allOf/anyOf/oneOf)."""
    out: dict[str, Any] = {}
    nullable = node.get("nullable") is True
    types: list[str] = []
    if int_or_string:
        types = ["integer", "string"]
    elif isinstance(node.get("type"), str):
        types = [node["type"]]
    if types:
        if nullable:
            types.append("null")
        out["type"] = types[0] if len(types) == 1 else types

    for keyword in _CRD_PLAIN_KEYWORDS:
        if keyword in node:
            out[keyword] = node[keyword]
    if "pattern" in out and not _python_regex(out["pattern"]):
        del out["pattern"]  # RE2-only syntax: better unchecked than a crash
    if nullable and "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    # OpenAPI 3.0 exclusive bounds are booleans next to minimum/maximum.
    if node.get("exclusiveMinimum") is True and "minimum" in out:
        out["exclusiveMinimum"] = out.pop("minimum")
    if node.get("exclusiveMaximum") is True and "maximum" in out:
        out["exclusiveMaximum"] = out.pop("maximum")
    bounds = INT_BOUNDS.get(node.get("format", "")) if "integer" in types else None
    if bounds is not None:
        out.setdefault("minimum", bounds[0])
        out.setdefault("maximum", bounds[1])
    return out, types


def _required(node: Mapping[str, Any], embedded: bool) -> list[str]:
    """The required properties, less those with a default (the API server applies defaults before validating)."""
    required = list(node.get("required") or ())
    if embedded:
        required += [key for key in ("apiVersion", "kind") if key not in required]
    defaulted = {name for name, sub in (node.get("properties") or {}).items() if "default" in sub}
    return [name for name in required if name not in defaulted]


def _metadata_schema(declared: Any, object_meta: Mapping[str, Any]) -> dict[str, Any]:
    """ObjectMeta, narrowed by whatever the CRD declares for metadata (e.g. a name pattern)."""
    if isinstance(declared, dict) and (declared.get("properties") or declared.get("required")):
        narrowed = _openapi_to_jsonschema(declared, object_meta, structural=False)
        narrowed.pop("type", None)
        return {"allOf": [dict(object_meta), narrowed]}
    return dict(object_meta)


def custom_resource_schema(root: Mapping[str, Any], object_meta: Mapping[str, Any]) -> dict[str, Any]:
    schema = _openapi_to_jsonschema(root, object_meta)
    properties = schema.setdefault("properties", {})
    # apiVersion, kind and metadata are implicit at the root of every custom resource.
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = _metadata_schema((root.get("properties") or {}).get("metadata"), object_meta)
    if "additionalProperties" not in schema and root.get("x-kubernetes-preserve-unknown-fields") is not True:
        schema["additionalProperties"] = False
    schema["type"] = "object"
    return schema

