"""Strict offline schema checks of rendered Kubernetes objects, built-in kinds and custom resources."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ccp_gitops.cache.disk import Cache, digest
from ccp_gitops.checks.k8s.catalogue import (
    DATA_KEYWORDS,
    DEFS_ID,
    DEFS_REF_PREFIX,
    OBJECT_META,
    SCHEMA_MAP_KEYWORDS,
    UnsupportedKubernetesVersion,
    catalogue,
    resolve_version,
    supported_versions,
)
from ccp_gitops.checks.k8s.crd_index import CrdIndex
from ccp_gitops.checks.k8s.crds import custom_resource_schema
from ccp_gitops.checks.k8s.fast import FastValidators
from ccp_gitops.checks.k8s.object_names import metadata_problems
from ccp_gitops.model.problems import Location, Problem
from ccp_gitops.model.resid import ResId, split_api_version
from ccp_gitops.source.schema_messages import describe, finding_order, json_path

if TYPE_CHECKING:  # the Python validator is built only for an object jsonschema-rs rejects (or asked for)
    from jsonschema.protocols import Validator

Schema = Mapping[str, Any]

__all__ = [
    "SchemaChecker",
    "UnsupportedKubernetesVersion",
    "supported_versions",
    "resolve_version",
]


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

    def __init__(self, kubernetes_version: str, crd_dirs: Sequence[Path], cache: Cache | None = None) -> None:
        self.kubernetes_version = resolve_version(kubernetes_version)
        major, _, minor = self.kubernetes_version.partition(".")
        self._version = (int(major), int(minor))
        self.requested_version = kubernetes_version
        self.crd_dirs: tuple[Path, ...] = tuple(Path(d) for d in crd_dirs)
        self._catalogue = catalogue(self.kubernetes_version, cache)
        for directory in self.crd_dirs:
            if not directory.is_dir():
                raise NotADirectoryError(f"CRD directory {directory} does not exist")
        self._cache = cache
        self._schemas: dict[tuple[str, str, str], Schema] = {}
        self._validators: dict[tuple[str, str, str], Validator] = {}
        self._inlined: dict[str, Any] = {}
        self._builtin_kinds: dict[tuple[str, str], list[str]] = {}
        for group, version, kind in self._catalogue.index:
            self._builtin_kinds.setdefault((group, kind), []).append(version)
        self.validators_built = 0
        self._fast = FastValidators(DEFS_ID, self._catalogue.registry.contents(DEFS_ID))

    # -- schemas ------------------------------------------------------------------------------

    @cached_property
    def _crd_index(self) -> CrdIndex:
        """The CRD files, scanned on first need and parsed per kind (see crd_index)."""
        return CrdIndex(self.crd_dirs)

    @cached_property
    def crd_problems(self) -> tuple[Problem, ...]:
        """Warnings about the CRD files: unreadable, malformed, or overriding a different CRD."""
        return tuple(self._crd_index.problems())

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
        if isinstance(ref, str) and ref.startswith(DEFS_REF_PREFIX):
            target = ref[len(DEFS_REF_PREFIX) :]
            if target in stack:
                return {"$ref": DEFS_ID + ref}
            return self._inline(target, stack)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
                out[key] = {sub: self._inline_node(schema, stack) for sub, schema in value.items()}
            elif key in DATA_KEYWORDS:
                out[key] = value
            else:
                out[key] = self._inline_node(value, stack)
        return out

    def _python(self, key: tuple[str, str, str], schema: Schema) -> Validator:
        """The Python validator of a kind's schema (its errors make the messages), built on first need."""
        found = self._validators.get(key)
        if found is None:
            from jsonschema import Draft202012Validator

            self.validators_built += 1
            found = self._validators[key] = Draft202012Validator(schema, registry=self._catalogue.registry)
        return found

    # -- lookup -------------------------------------------------------------------------------

    def _lookup(self, group: str, version: str, kind: str) -> Schema | str:
        """The schema of a kind, or why there is none."""
        key = (group, version, kind)
        found = self._schemas.get(key)
        if found is not None:
            return found
        api_version = f"{group}/{version}" if group else version
        definition = self._catalogue.index.get(key)
        if definition is not None:
            schema: Schema = self._inline(definition, frozenset())
            self._schemas[key] = schema
            return schema
        builtin_versions = self._builtin_kinds.get((group, kind))
        if builtin_versions:
            listed = ", ".join(f"{group}/{v}" if group else v for v in sorted(builtin_versions))
            return (
                f"{api_version} {kind} does not exist in Kubernetes {self.kubernetes_version} "
                f"(available: {listed})"
            )
        custom = self._custom_schema(group, version, kind)
        if isinstance(custom, str):
            return custom
        self._schemas[key] = custom
        return custom

    def _custom_schema(self, group: str, version: str, kind: str) -> dict[str, Any] | str:
        """The JSON Schema of a custom resource, or why there is none; cached on disk as JSON.

        The key covers the files that may define the kind (their paths and bytes), so a
        changed CRD file is read again; files that define other kinds do not matter.
        """
        candidates = self._crd_index.candidates((group, kind))
        key = digest("crd-schema", self.kubernetes_version, group, version, kind,
                     *(part for path, raw in candidates for part in (str(path), hashlib.sha256(raw).digest())))
        payload = self._cache.get("crd-schema", key) if self._cache is not None else None
        if payload is not None:
            try:
                cached: dict[str, Any] | str = json.loads(payload)
                return cached
            except ValueError:
                pass
        found = self._convert(group, version, kind)
        if self._cache is not None:
            self._cache.put("crd-schema", key, json.dumps(found, separators=(",", ":")).encode())
        return found

    def _convert(self, group: str, version: str, kind: str) -> dict[str, Any] | str:
        api_version = f"{group}/{version}" if group else version
        crd = self._crd_index.get((group, kind))
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
        object_meta = self._inline(OBJECT_META, frozenset())
        try:
            return custom_resource_schema(entry.schema, object_meta)
        except (AttributeError, KeyError, TypeError) as exc:
            return f"CRD {crd.name} ({crd.origin.path}) version {version} has a malformed schema ({exc!r})"

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
        return self._python((group, version, kind), found)

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
        key = (group, version, kind)
        valid = self._fast.valid(key, found, obj)
        for error in () if valid else self._python(key, found).iter_errors(obj):
            if error.context:
                from jsonschema.exceptions import best_match

                error = best_match([error]) or error
            findings.extend(describe(error))
        findings.extend(metadata_problems(group, kind, self._version, obj.get("metadata")))
        seen: set[str] = set()
        problems: list[Problem] = []
        for path, message in sorted(findings, key=finding_order):
            where = json_path(path)
            text = f"{resid}: {where}: {message}" if where else f"{resid}: {message}"
            if text not in seen:
                seen.add(text)
                problems.append(Problem(origin, text))
        return problems

    def check_all(self, objects: Iterable[tuple[Mapping[str, Any], Location]]) -> list[Problem]:
        """``check`` over many (object, origin) pairs."""
        return [problem for obj, origin in objects for problem in self.check(obj, origin)]
