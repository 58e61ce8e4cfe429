"""Strict offline schema checks of rendered Kubernetes objects, built-in kinds and custom resources."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from ccp_gitops.problems import Location, Problem, warning
from ccp_gitops.resid import ResId, split_api_version

__all__ = [
    "SchemaChecker",
    "UnsupportedKubernetesVersion",
    "supported_versions",
    "resolve_version",
]

# ---------------------------------------------------------------------------------------------
# Constants (all immutable)

_SCHEMA_PACKAGE = "kubernetes_validate"
_SCHEMA_FOLDER = "kubernetes-json-schema"
_FOLDER_RE = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")
_REQUESTED_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")
_DEFS_ID = "https://kubernetes.io/api/_definitions.json"
_DEFS_REF_PREFIX = "#/$defs/"
_META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."
_OBJECT_META = _META_PREFIX + "ObjectMeta"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# The exact grammar of resource.Quantity (as controller-gen emits it for CRDs).
_QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_PATTERN_NAMES = {_QUANTITY_PATTERN: "a Kubernetes quantity such as 500m, 2, 1Gi or 1e3"}

# Enumerations the API server enforces but the published OpenAPI leaves out (it only lists them
# in descriptions). Only values stable in every bundled version; "" (unset, then defaulted)
# and null stay allowed.
_CORE = "io.k8s.api.core.v1."
_APPS = "io.k8s.api.apps.v1."
_BUILTIN_ENUMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (_CORE + "Container", "imagePullPolicy", ("Always", "Never", "IfNotPresent")),
    (_CORE + "Container", "terminationMessagePolicy", ("File", "FallbackToLogsOnError")),
    (_CORE + "ContainerPort", "protocol", ("TCP", "UDP", "SCTP")),
    (_CORE + "ServicePort", "protocol", ("TCP", "UDP", "SCTP")),
    (_CORE + "HTTPGetAction", "scheme", ("HTTP", "HTTPS")),
    (_CORE + "PodSpec", "restartPolicy", ("Always", "OnFailure", "Never")),
    (_CORE + "PodSpec", "dnsPolicy", ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")),
    (_CORE + "ServiceSpec", "type", ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    (_CORE + "ServiceSpec", "sessionAffinity", ("ClientIP", "None")),
    (_CORE + "ServiceSpec", "externalTrafficPolicy", ("Cluster", "Local")),
    (_CORE + "ServiceSpec", "internalTrafficPolicy", ("Cluster", "Local")),
    (_CORE + "Toleration", "operator", ("Exists", "Equal")),
    (_CORE + "Toleration", "effect", ("NoSchedule", "PreferNoSchedule", "NoExecute")),
    (_CORE + "PersistentVolumeClaimSpec", "volumeMode", ("Filesystem", "Block")),
    (_APPS + "DeploymentStrategy", "type", ("Recreate", "RollingUpdate")),
    (_APPS + "StatefulSetUpdateStrategy", "type", ("RollingUpdate", "OnDelete")),
    (_APPS + "DaemonSetUpdateStrategy", "type", ("RollingUpdate", "OnDelete")),
    (_APPS + "StatefulSetSpec", "podManagementPolicy", ("OrderedReady", "Parallel")),
    ("io.k8s.api.batch.v1.CronJobSpec", "concurrencyPolicy", ("Allow", "Forbid", "Replace")),
    ("io.k8s.api.batch.v1.JobSpec", "completionMode", ("NonIndexed", "Indexed")),
)

_INT_BOUNDS = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

# Keywords that never affect validation; dropping them keeps the schemas small and fast.
_ANNOTATION_KEYWORDS = frozenset(
    {"description", "title", "example", "examples", "externalDocs", "deprecated", "readOnly", "writeOnly"}
)
# Keywords whose value is data, not a sub-schema.
_DATA_KEYWORDS = frozenset({"enum", "const", "required", "type", "default", "pattern"})
# Keywords whose value maps names to sub-schemas.
_SCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "$defs", "definitions"})

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

_DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")

_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_RBAC_GROUP = "rbac.authorization.k8s.io"

_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dict, "object"),
    (list, "array"),
    (type(None), "null"),
)


class UnsupportedKubernetesVersion(ValueError):
    """The requested Kubernetes version has no bundled schemas."""


# ---------------------------------------------------------------------------------------------
# Bundled Kubernetes schemas


def _schema_root() -> Traversable:
    return files(_SCHEMA_PACKAGE).joinpath(_SCHEMA_FOLDER)


@lru_cache(maxsize=1)
def _bundled_versions() -> tuple[tuple[int, int], ...]:
    found: list[tuple[int, int]] = []
    for entry in _schema_root().iterdir():
        match = _FOLDER_RE.match(entry.name)
        if match and entry.joinpath("_definitions.json").is_file():
            found.append((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


def supported_versions() -> list[str]:
    """Kubernetes minor versions with bundled strict schemas, oldest first (``["1.25", ...]``)."""
    return [f"{major}.{minor}" for major, minor in _bundled_versions()]


def resolve_version(kubernetes_version: str) -> str:
    """Map ``1.33``, ``v1.33`` or ``1.33.4`` to the newest bundled version that is not newer."""
    match = _REQUESTED_RE.match(kubernetes_version.strip())
    if not match:
        raise UnsupportedKubernetesVersion(
            f"kubernetes_version {kubernetes_version!r} is not a version like '1.33'"
        )
    wanted = (int(match.group(1)), int(match.group(2)))
    bundled = _bundled_versions()
    if not bundled:
        raise UnsupportedKubernetesVersion(f"the {_SCHEMA_PACKAGE} package bundles no strict schemas")
    known = ", ".join(supported_versions())
    if wanted > bundled[-1]:
        raise UnsupportedKubernetesVersion(
            f"Kubernetes {wanted[0]}.{wanted[1]} is newer than the schemas bundled with "
            f"{_SCHEMA_PACKAGE} ({known}); upgrade {_SCHEMA_PACKAGE}"
        )
    older = [v for v in bundled if v <= wanted]
    if not older:
        raise UnsupportedKubernetesVersion(
            f"Kubernetes {wanted[0]}.{wanted[1]} is older than the schemas bundled with "
            f"{_SCHEMA_PACKAGE} ({known})"
        )
    major, minor = older[-1]
    return f"{major}.{minor}"


def _simplify(node: Any) -> Any:
    """Copy a built-in schema without annotations and vendor extensions; formats become bounds."""
    if isinstance(node, list):
        return [_simplify(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATION_KEYWORDS or key.startswith("x-"):
            continue
        if key == "format":
            bounds = _INT_BOUNDS.get(value)
            if bounds is not None:
                out.setdefault("minimum", bounds[0])
                out.setdefault("maximum", bounds[1])
            continue
        if key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {name: _simplify(sub) for name, sub in value.items()}
        elif key in _DATA_KEYWORDS:
            out[key] = value
        else:
            out[key] = _simplify(value)
    return out


@dataclass(frozen=True)
class _Catalogue:
    """The built-in schemas of one Kubernetes version, simplified, with a GVK index."""

    version: str
    definitions: Mapping[str, Any]
    index: Mapping[tuple[str, str, str], str]  # (group, version, kind) -> definition name
    registry: Registry[Any]


@lru_cache(maxsize=None)
def _catalogue(version: str) -> _Catalogue:
    """Load and simplify ``_definitions.json`` of a bundled version (pure; cached per process)."""
    folder = _schema_root().joinpath(f"v{version}.0-local-strict")
    document = json.loads(folder.joinpath("_definitions.json").read_bytes())
    raw: dict[str, Any] = document["$defs"]
    index: dict[tuple[str, str, str], str] = {}
    for name, definition in raw.items():
        if name.startswith(_META_PREFIX):
            continue  # DeleteOptions, WatchEvent, Status...: not objects one applies
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            index[(gvk["group"], gvk["version"], gvk["kind"])] = name
    definitions = {name: _simplify(definition) for name, definition in raw.items()}
    # The upstream oneOf [string|null, integer|null] rejects null (it matches both branches)
    # and gives cluttered errors; these are the plain unions Kubernetes actually accepts.
    definitions[_INT_OR_STRING] = {"type": ["string", "integer", "null"]}
    definitions[_QUANTITY] = {"type": ["string", "number", "null"], "pattern": _QUANTITY_PATTERN}
    for definition_name, field_name, values in _BUILTIN_ENUMS:
        field_schema = definitions.get(definition_name, {}).get("properties", {}).get(field_name)
        if isinstance(field_schema, dict) and "enum" not in field_schema:
            field_schema["enum"] = [*values, "", None]
    contents = {"$schema": document["$schema"], "$id": _DEFS_ID, "$defs": definitions}
    registry: Registry[Any] = Registry().with_resource(_DEFS_ID, Resource.from_contents(contents))
    return _Catalogue(version, definitions, index, registry)


# ---------------------------------------------------------------------------------------------
# CustomResourceDefinitions


@dataclass(frozen=True)
class _CrdVersion:
    name: str
    served: bool
    schema: Mapping[str, Any] | None


@dataclass(frozen=True)
class _Crd:
    group: str
    kind: str
    name: str
    origin: Location
    versions: tuple[_CrdVersion, ...]

    def served_names(self) -> list[str]:
        return [v.name for v in self.versions if v.served]


@dataclass(frozen=True)
class _CrdFile:
    crds: tuple[_Crd, ...]
    problems: tuple[Problem, ...]


def _strip_annotations(node: Any) -> Any:
    """A CRD schema without descriptions (most of a CRD's bytes); property names are kept."""
    if isinstance(node, list):
        return [_strip_annotations(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATION_KEYWORDS or key == "x-kubernetes-validations":
            continue
        if key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {name: _strip_annotations(sub) for name, sub in value.items()}
        elif key in _DATA_KEYWORDS:
            out[key] = value
        else:
            out[key] = _strip_annotations(value)
    return out


def _yaml_loader() -> type[yaml.SafeLoader]:
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


@lru_cache(maxsize=512)
def _read_crd_file(path: str, mtime_ns: int, size: int) -> _CrdFile:
    """Parse the CRDs of one file (pure; the stat values key the cache)."""
    del mtime_ns, size  # only part of the cache key
    crds: list[_Crd] = []
    problems: list[Problem] = []
    try:
        documents = list(yaml.load_all(Path(path).read_text(encoding="utf-8"), Loader=_yaml_loader()))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        return _CrdFile((), (Problem(Location(path, line, col), f"cannot parse CRD file: {exc.problem}"),))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return _CrdFile((), (Problem(Location(path), f"cannot read CRD file: {exc}"),))
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
                versions.append(_CrdVersion(str(entry["name"]), bool(entry.get("served", False)), schema))
        except (KeyError, TypeError) as exc:
            problems.append(Problem(where, f"{label}: malformed CustomResourceDefinition ({exc!r})"))
            continue
        crd_name = str((document.get("metadata") or {}).get("name") or f"{kind}.{group}")
        crds.append(_Crd(group, kind, crd_name, where, tuple(versions)))
    return _CrdFile(tuple(crds), tuple(problems))


def _crd_files(directory: Path) -> list[Path]:
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
    out: dict[str, Any] = {}
    nullable = node.get("nullable") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = node.get("x-kubernetes-embedded-resource") is True
    int_or_string = node.get("x-kubernetes-int-or-string") is True

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
    bounds = _INT_BOUNDS.get(node.get("format", "")) if "integer" in types else None
    if bounds is not None:
        out.setdefault("minimum", bounds[0])
        out.setdefault("maximum", bounds[1])

    properties: dict[str, Any] = {}
    for name, sub in (node.get("properties") or {}).items():
        properties[name] = _openapi_to_jsonschema(sub, object_meta, structural=structural)
    if embedded:
        properties.setdefault("apiVersion", {"type": "string", "minLength": 1})
        properties.setdefault("kind", {"type": "string", "minLength": 1})
        properties["metadata"] = _metadata_schema(node.get("properties", {}).get("metadata"), object_meta)
    if properties:
        out["properties"] = properties

    required = list(node.get("required") or ())
    if embedded:
        required += [key for key in ("apiVersion", "kind") if key not in required]
    # The API server applies defaults before validating, so a defaulted field may be omitted.
    defaulted = {name for name, sub in (node.get("properties") or {}).items() if "default" in sub}
    required = [name for name in required if name not in defaulted]
    if required:
        out["required"] = required

    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = _openapi_to_jsonschema(additional, object_meta, structural=structural)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    elif structural and not preserve and (properties or types == ["object"] or types == ["object", "null"]):
        # Kubernetes prunes unknown fields, and strict field validation rejects them.
        out["additionalProperties"] = False

    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _openapi_to_jsonschema(items, object_meta, structural=structural)

    if not int_or_string:  # controller-gen repeats int-or-string as anyOf [integer, string]
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in node:
                out[keyword] = [
                    _openapi_to_jsonschema(sub, object_meta, structural=False) for sub in node[keyword]
                ]
    if isinstance(node.get("not"), dict):
        out["not"] = _openapi_to_jsonschema(node["not"], object_meta, structural=False)
    return out


def _metadata_schema(declared: Any, object_meta: Mapping[str, Any]) -> dict[str, Any]:
    """ObjectMeta, narrowed by whatever the CRD declares for metadata (e.g. a name pattern)."""
    if isinstance(declared, dict) and (declared.get("properties") or declared.get("required")):
        narrowed = _openapi_to_jsonschema(declared, object_meta, structural=False)
        narrowed.pop("type", None)
        return {"allOf": [dict(object_meta), narrowed]}
    return dict(object_meta)


def _custom_resource_schema(root: Mapping[str, Any], object_meta: Mapping[str, Any]) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------
# Error messages


def _json_path(parts: Iterable[str | int]) -> str:
    """``spec.template.spec.containers[0].image``; odd keys as ``labels["app.kubernetes.io/name"]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER_RE.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _json_type(value: Any) -> str:
    for python_type, name in _JSON_TYPE_NAMES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: ValidationError) -> Iterator[tuple[list[str | int], str]]:
    """(path, message) pairs for one jsonschema error; unknown fields get one pair each."""
    path: list[str | int] = list(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "additionalProperties" and error.validator_value is False and isinstance(instance, dict):
        known = list(schema.get("properties") or ())
        patterns = [re.compile(p) for p in schema.get("patternProperties") or ()]
        for name in instance:
            if name in known or any(p.search(name) for p in patterns):
                continue
            hint = difflib.get_close_matches(str(name), known, n=1)
            suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
            yield [*path, name], f"unknown field{suffix}"
        return
    if keyword == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        shown = [str(t) for t in wanted if t != "null"] or [str(t) for t in wanted]
        got = (
            "null (the field is not nullable)"
            if instance is None
            else f"{_json_type(instance)} {_short(instance)}"
        )
        yield path, f"expected {' or '.join(shown)}, got {got}"
        return
    if keyword == "pattern" and error.validator_value in _PATTERN_NAMES:
        yield path, f"{_short(instance)} is not {_PATTERN_NAMES[str(error.validator_value)]}"
        return
    if keyword == "enum" and isinstance(error.validator_value, list):
        allowed = [v for v in error.validator_value if v not in ("", None)]
        hint = (
            difflib.get_close_matches(instance, [str(v) for v in allowed], n=1)
            if isinstance(instance, str)
            else []
        )
        if len(allowed) > 8 and hint:
            yield (
                path,
                f"{_short(instance)} is not one of the {len(allowed)} allowed values (did you mean {hint[0]!r}?)",
            )
        else:
            suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
            yield path, f"{_short(instance)} is not one of {_short(allowed, 400)}{suffix}"
        return
    if keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        yield path, f"{_short(instance)} is out of range ({keyword} {error.validator_value})"
        return
    message = error.message
    yield path, message if len(message) <= 300 else message[:297] + "..."


# ---------------------------------------------------------------------------------------------
# Names and metadata (what the API server checks beyond the OpenAPI schema)


def _is_dns1123_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1123_LABEL_RE.match(name) is not None


def _is_dns1123_subdomain(name: str, limit: int = 253) -> bool:
    return len(name) <= limit and _DNS1123_SUBDOMAIN_RE.match(name) is not None


def _is_dns1035_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1035_LABEL_RE.match(name) is not None


def _is_path_segment(name: str) -> bool:
    return name not in {".", ".."} and "/" not in name and "%" not in name


def _is_cronjob_name(name: str) -> bool:
    return _is_dns1123_subdomain(name, 52)


def _name_rule(group: str, kind: str, version: tuple[int, int]) -> tuple[str, Callable[[str], bool]]:
    """How the API server validates ``metadata.name`` of this kind: (description, predicate).

    Where a rule changed across versions or is unclear, the looser one is used: a check must
    never refuse a name the API server accepts.
    """
    label = "a DNS-1123 label (lowercase alphanumerics and '-', starting and ending alphanumeric, at most 63 characters)"
    if group == "" and kind == "Namespace":
        return label, _is_dns1123_label
    if group == "" and kind == "Service":
        if version <= (1, 34):  # RelaxedServiceNameValidation: alpha and off by default in 1.34
            return (
                "a DNS-1035 label (lowercase alphanumerics and '-', starting with a letter, at most 63 characters)",
                _is_dns1035_label,
            )
        return label, _is_dns1123_label
    if group == "apps" and kind == "StatefulSet":
        # Newer servers require a label; a dotted name never worked, its pods cannot be created.
        return label, _is_dns1123_label
    if (group == _RBAC_GROUP and kind in _RBAC_KINDS) or (
        group == "policy" and kind == "PodDisruptionBudget"
    ):
        return "a valid path segment (not '.' or '..', without '/' or '%')", _is_path_segment
    if group == "batch" and kind == "CronJob":
        return "a DNS-1123 subdomain of at most 52 characters", _is_cronjob_name
    return (
        "a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', starting and ending alphanumeric, "
        "at most 253 characters)",
        _is_dns1123_subdomain,
    )


def _qualified_name_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix)):
        return "its prefix must be a DNS-1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
        return "its name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def _metadata_problems(
    group: str, kind: str, version: tuple[int, int], metadata: Any
) -> Iterator[tuple[list[str | int], str]]:
    if not isinstance(metadata, dict):
        return  # the schema reports a missing or mistyped metadata
    name = metadata.get("name")
    if name is None or name == "":
        if not metadata.get("generateName"):
            yield ["metadata", "name"], "required field is missing"
    elif isinstance(name, str):
        rule, predicate = _name_rule(group, kind, version)
        if not predicate(name):
            yield ["metadata", "name"], f"{name!r} is not {rule}"
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and namespace and not _is_dns1123_label(namespace):
        yield ["metadata", "namespace"], f"{namespace!r} is not a DNS-1123 label"
    labels = metadata.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            if isinstance(key, str) and (reason := _qualified_name_problem(key)):
                yield ["metadata", "labels", key], f"invalid label key: {reason}"
            if isinstance(value, str) and not (len(value) <= 63 and _LABEL_VALUE_RE.match(value)):
                yield (
                    ["metadata", "labels", key],
                    (
                        f"invalid label value {_short(value)}: at most 63 alphanumerics, '-', '_' or '.', "
                        "starting and ending alphanumeric"
                    ),
                )
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in annotations:
            if isinstance(key, str) and (reason := _qualified_name_problem(key)):
                yield ["metadata", "annotations", key], f"invalid annotation key: {reason}"


def _finding_order(finding: tuple[list[str | int], str]) -> tuple[list[tuple[int, int, str]], str]:
    path, message = finding
    return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in path], message


# ---------------------------------------------------------------------------------------------
# The checker


class SchemaChecker:
    """Validates rendered objects against Kubernetes and CRD schemas; build once, check many.

    Validators are built on first use per (group, version, kind) and kept in this instance.
    Reuse one checker for every environment that targets the same Kubernetes version and CRDs.

    ``crd_dirs`` are searched recursively for ``*.yaml``/``*.yml``/``*.json`` files; documents
    that are not CustomResourceDefinitions are ignored. A later directory (and, within one, a
    later file in path order) overrides an earlier CRD of the same group and kind; a differing
    override is a warning in ``crd_problems``, as are unreadable or malformed CRDs. A missing
    directory raises NotADirectoryError; an unsupported version UnsupportedKubernetesVersion.

    Beyond the schemas, names, namespaces, label keys and values, and annotation keys are checked
    as the API server does. Not checked: CEL rules (``x-kubernetes-validations``), string
    formats other than integer widths, and cross-field rules of built-in kinds.
    """

    def __init__(self, kubernetes_version: str, crd_dirs: Sequence[Path]) -> None:
        self.kubernetes_version = resolve_version(kubernetes_version)
        major, _, minor = self.kubernetes_version.partition(".")
        self._version = (int(major), int(minor))
        self.requested_version = kubernetes_version
        self.crd_dirs: tuple[Path, ...] = tuple(Path(d) for d in crd_dirs)
        self._catalogue = _catalogue(self.kubernetes_version)
        crds, problems = self._load_crds()
        self._crds: dict[tuple[str, str], _Crd] = crds
        self.crd_problems: tuple[Problem, ...] = tuple(problems)
        self._validators: dict[tuple[str, str, str], Validator] = {}
        self._inlined: dict[str, Any] = {}
        self._builtin_kinds: dict[tuple[str, str], list[str]] = {}
        for group, version, kind in self._catalogue.index:
            self._builtin_kinds.setdefault((group, kind), []).append(version)
        self.validators_built = 0

    # -- loading ------------------------------------------------------------------------------

    def _load_crds(self) -> tuple[dict[tuple[str, str], _Crd], list[Problem]]:
        crds: dict[tuple[str, str], _Crd] = {}
        problems: list[Problem] = []
        for directory in self.crd_dirs:
            if not directory.is_dir():
                raise NotADirectoryError(f"CRD directory {directory} does not exist")
            for path in _crd_files(directory):
                stat = path.stat()
                loaded = _read_crd_file(str(path), stat.st_mtime_ns, stat.st_size)
                problems.extend(loaded.problems)
                for crd in loaded.crds:
                    previous = crds.get((crd.group, crd.kind))
                    if previous is not None and previous.versions != crd.versions:
                        problems.append(
                            warning(
                                crd.origin.path,
                                crd.origin.line,
                                crd.origin.col,
                                f"CRD {crd.name} overrides the different one in {previous.origin.path}",
                            )
                        )
                    crds[(crd.group, crd.kind)] = crd
        return crds, problems

    def _inline(self, name: str, stack: frozenset[str]) -> Any:
        """A built-in definition with its ``$ref``s replaced by the definitions (cycles keep refs)."""
        cached = self._inlined.get(name)
        if cached is not None:
            return cached
        result = self._inline_node(self._catalogue.definitions[name], stack | {name})
        self._inlined[name] = result
        return result

    def _inline_node(self, node: Any, stack: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [self._inline_node(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_REF_PREFIX):
            target = ref[len(_DEFS_REF_PREFIX) :]
            if target in stack:
                return {"$ref": _DEFS_ID + ref}
            return self._inline(target, stack)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
                out[key] = {sub: self._inline_node(schema, stack) for sub, schema in value.items()}
            elif key in _DATA_KEYWORDS:
                out[key] = value
            else:
                out[key] = self._inline_node(value, stack)
        return out

    def _build(self, schema: Mapping[str, Any]) -> Validator:
        self.validators_built += 1
        return Draft202012Validator(schema, registry=self._catalogue.registry)

    # -- lookup -------------------------------------------------------------------------------

    def _lookup(self, group: str, version: str, kind: str) -> Validator | str:
        """The validator for a kind, or why there is none."""
        key = (group, version, kind)
        found = self._validators.get(key)
        if found is not None:
            return found
        api_version = f"{group}/{version}" if group else version
        definition = self._catalogue.index.get(key)
        if definition is not None:
            validator = self._build(self._inline(definition, frozenset()))
            self._validators[key] = validator
            return validator
        builtin_versions = self._builtin_kinds.get((group, kind))
        if builtin_versions:
            listed = ", ".join(f"{group}/{v}" if group else v for v in sorted(builtin_versions))
            return (
                f"{api_version} {kind} does not exist in Kubernetes {self.kubernetes_version} "
                f"(available: {listed})"
            )
        crd = self._crds.get((group, kind))
        if crd is None:
            where = ", ".join(str(d) for d in self.crd_dirs) or "no CRD directories"
            return (
                f"no schema for {api_version} {kind}: not a built-in kind of Kubernetes "
                f"{self.kubernetes_version} and no CustomResourceDefinition for it in {where}"
            )
        served = ", ".join(crd.served_names()) or "none"
        entry = next((v for v in crd.versions if v.name == version), None)
        if entry is None:
            return f"CRD {crd.name} ({crd.origin.path}) has no version {version}; served versions: {served}"
        if not entry.served:
            return f"{api_version} {kind} is not served by CRD {crd.name}; served versions: {served}"
        if entry.schema is None:
            return f"CRD {crd.name} version {version} has no openAPIV3Schema"
        object_meta = self._inline(_OBJECT_META, frozenset())
        try:
            schema = _custom_resource_schema(entry.schema, object_meta)
        except (AttributeError, KeyError, TypeError) as exc:
            return f"CRD {crd.name} ({crd.origin.path}) version {version} has a malformed schema ({exc!r})"
        validator = self._build(schema)
        self._validators[key] = validator
        return validator

    def is_builtin(self, api_version: str, kind: str) -> bool:
        """True when the kind is part of Kubernetes itself (in any version of its group)."""
        group, _ = split_api_version(api_version)
        return (group, kind) in self._builtin_kinds

    def validator_for(self, api_version: str, kind: str) -> Validator:
        """The cached jsonschema validator for a kind; LookupError says why there is none."""
        group, version = split_api_version(api_version)
        found = self._lookup(group, version, kind)
        if isinstance(found, str):
            raise LookupError(found)
        return found

    # -- checking -----------------------------------------------------------------------------

    def check(self, obj: Mapping[str, Any], origin: Location) -> list[Problem]:
        """Every schema violation of one object, one Problem each, ordered by JSON path."""
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        resid = ResId.of(
            obj if metadata is None or isinstance(metadata, Mapping) else {**obj, "metadata": {}}
        )
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            bad = [
                f for f, v in (("apiVersion", api_version), ("kind", kind)) if not isinstance(v, str) or not v
            ]
            return [
                Problem(origin, f"object {resid.name or '?'}: {' and '.join(bad)} must be a non-empty string")
            ]
        group, version = split_api_version(api_version)
        found = self._lookup(group, version, kind)
        if isinstance(found, str):
            return [Problem(origin, f"{resid}: {found}")]
        findings: list[tuple[list[str | int], str]] = []
        for error in found.iter_errors(obj):
            if error.context:
                error = best_match([error]) or error
            findings.extend(_describe(error))
        findings.extend(_metadata_problems(group, kind, self._version, obj.get("metadata")))
        seen: set[str] = set()
        problems: list[Problem] = []
        for path, message in sorted(findings, key=_finding_order):
            where = _json_path(path)
            text = f"{resid}: {where}: {message}" if where else f"{resid}: {message}"
            if text not in seen:
                seen.add(text)
                problems.append(Problem(origin, text))
        return problems

    def check_all(self, objects: Iterable[tuple[Mapping[str, Any], Location]]) -> list[Problem]:
        """``check`` over many (object, origin) pairs."""
        return [problem for obj, origin in objects for problem in self.check(obj, origin)]
