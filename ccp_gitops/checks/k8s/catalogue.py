"""Bundled Kubernetes OpenAPI schemas: supported versions, and one simplified catalogue per version."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ccp_gitops.cache.disk import Cache, digest
from ccp_gitops.model.errors import CcpError

if TYPE_CHECKING:
    from referencing import Registry

SCHEMA_PACKAGE = "kubernetes_validate"
_SCHEMA_FOLDER = "kubernetes-json-schema"
_FOLDER_RE = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")
_REQUESTED_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")
DEFS_ID = "https://kubernetes.io/api/_definitions.json"
DEFS_REF_PREFIX = "#/$defs/"
_META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = _META_PREFIX + "ObjectMeta"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# The exact grammar of resource.Quantity (as controller-gen emits it for CRDs).
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
PATTERN_NAMES = {QUANTITY_PATTERN: "a Kubernetes quantity such as 500m, 2, 1Gi or 1e3"}

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

INT_BOUNDS = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

# Keywords that never affect validation; dropping them keeps the schemas small and fast.
ANNOTATION_KEYWORDS = frozenset(
    {"description", "title", "example", "examples", "externalDocs", "deprecated", "readOnly", "writeOnly"}
)
# Keywords whose value is data, not a sub-schema.
DATA_KEYWORDS = frozenset({"enum", "const", "required", "type", "default", "pattern"})
# Keywords whose value maps names to sub-schemas.
SCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


class UnsupportedKubernetesVersion(CcpError, ValueError):
    """The requested Kubernetes version has no bundled schemas."""



def _schema_root() -> Traversable:
    """The package's schema folder, found without importing the package (which imports jsonschema)."""
    spec = importlib.util.find_spec(SCHEMA_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / _SCHEMA_FOLDER
    return files(SCHEMA_PACKAGE).joinpath(_SCHEMA_FOLDER)


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
        raise UnsupportedKubernetesVersion(f"the {SCHEMA_PACKAGE} package bundles no strict schemas")
    known = ", ".join(supported_versions())
    if wanted > bundled[-1]:
        raise UnsupportedKubernetesVersion(
            f"Kubernetes {wanted[0]}.{wanted[1]} is newer than the schemas bundled with "
            f"{SCHEMA_PACKAGE} ({known}); upgrade {SCHEMA_PACKAGE}"
        )
    older = [v for v in bundled if v <= wanted]
    if not older:
        raise UnsupportedKubernetesVersion(
            f"Kubernetes {wanted[0]}.{wanted[1]} is older than the schemas bundled with "
            f"{SCHEMA_PACKAGE} ({known})"
        )
    major, minor = older[-1]
    return f"{major}.{minor}"


def copy_schema(node: Any, handled: Callable[[str, Any, dict[str, Any]], bool]) -> Any:
    """Copy a schema node by node; ``handled(key, value, out)`` drops or rewrites a keyword itself (True)
    or lets the copy take it: property maps and subschemas recursively, data keywords as they are."""
    if isinstance(node, list):
        return [copy_schema(item, handled) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if handled(key, value, out):
            continue
        if key in SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {name: copy_schema(sub, handled) for name, sub in value.items()}
        elif key in DATA_KEYWORDS:
            out[key] = value
        else:
            out[key] = copy_schema(value, handled)
    return out


def _simplify_keyword(key: str, value: Any, out: dict[str, Any]) -> bool:
    if key == "format":
        bounds = INT_BOUNDS.get(value)
        if bounds is not None:
            out.setdefault("minimum", bounds[0])
            out.setdefault("maximum", bounds[1])
        return True
    return key in ANNOTATION_KEYWORDS or key.startswith("x-")


def simplify(node: Any) -> Any:
    """Copy a built-in schema without annotations and vendor extensions; formats become bounds."""
    return copy_schema(node, _simplify_keyword)


@dataclass(frozen=True)
class Catalogue:
    """The built-in schemas of one Kubernetes version, simplified, with a GVK index."""

    version: str
    definitions: Mapping[str, Any]
    index: Mapping[tuple[str, str, str], str]  # (group, version, kind) -> definition name
    registry: Registry[Any]


@lru_cache(maxsize=None)
def catalogue(version: str, cache: Cache | None = None) -> Catalogue:
    """The simplified schemas of a bundled version (pure; kept per process and in the disk cache)."""
    key = digest("k8s-catalogue", version)
    found = cache.load("k8s", key) if cache is not None else None
    if not (isinstance(found, tuple) and len(found) == 3):
        found = _simplified(version)
        if cache is not None:
            cache.store("k8s", key, found)
    schema, definitions, index = found
    contents = {"$schema": schema, "$id": DEFS_ID, "$defs": definitions}
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resource(DEFS_ID, Resource.from_contents(contents))
    return Catalogue(version, definitions, index, registry)


def _simplified(version: str) -> tuple[str, dict[str, Any], dict[tuple[str, str, str], str]]:
    """Load and simplify ``_definitions.json`` of a bundled version: ($schema, definitions, GVK index)."""
    folder = _schema_root().joinpath(f"v{version}.0-local-strict")
    document = json.loads(folder.joinpath("_definitions.json").read_bytes())
    raw: dict[str, Any] = document["$defs"]
    index: dict[tuple[str, str, str], str] = {}
    for name, definition in raw.items():
        if name.startswith(_META_PREFIX):
            continue  # DeleteOptions, WatchEvent, Status...: not objects one applies
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            index[(gvk["group"], gvk["version"], gvk["kind"])] = name
    definitions = {name: simplify(definition) for name, definition in raw.items()}
    # The upstream oneOf [string|null, integer|null] rejects null (it matches both branches)
    # and gives cluttered errors; these are the plain unions Kubernetes actually accepts.
    definitions[_INT_OR_STRING] = {"type": ["string", "integer", "null"]}
    definitions[_QUANTITY] = {"type": ["string", "number", "null"], "pattern": QUANTITY_PATTERN}
    for definition_name, field_name, values in _BUILTIN_ENUMS:
        field_schema = definitions.get(definition_name, {}).get("properties", {}).get(field_name)
        if isinstance(field_schema, dict) and "enum" not in field_schema:
            field_schema["enum"] = [*values, "", None]
    return str(document["$schema"]), definitions, index


