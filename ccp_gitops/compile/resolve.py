"""Resolve stage: merge the layers with the origin of every value; dependency graph and waves."""

from __future__ import annotations

import copy
import graphlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ccp_gitops.cache.disk import Cache, digest
from ccp_gitops.model.environment import ComponentValues, Environment, Origins
from ccp_gitops.model.problems import InputError, Location, Problem, did_you_mean, error, raise_if_errors
from ccp_gitops.source.inputs import unknown_environment
from ccp_gitops.source.load import Document, YamlPath
from ccp_gitops.source.tree import Source

ENGINES = ("argocd", "flux")
DEFAULT_DELIVERY: dict[str, Any] = {
    "repo_url": "https://git.example.com/openstack/env-repo.git",
    "branch": "main",
    "engines": ["argocd"],
}



@dataclass(frozen=True)
class Layer:
    """One contribution to a value tree: a document and where in it the contribution starts."""

    doc: Document
    at: YamlPath
    label: str


def merge(target: dict[str, Any], origins: Origins, data: Any, layer: Layer, path: YamlPath = (), keys: Origins | None = None) -> None:
    """Deep-merge ``data`` into ``target``: mappings merge, anything else (lists too) replaces.

    ``origins`` gets where each leaf was set; ``keys``, where each mapping key was written.
    """
    for key, value in data.items():
        here = path + (key,)
        if keys is not None:
            keys.setdefault(here, []).append(layer.doc.locate_key(layer.at + here))
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            if not value:
                origins.setdefault(here, []).append(layer.doc.locate(layer.at + here))
            merge(target[key], origins, value, layer, here, keys)
            continue
        # a replaced subtree forgets the origins of what it replaces (only a mapping has origins below it)
        if isinstance(target.get(key), dict):
            for stale in [p for p in origins if p[: len(here)] == here and len(p) > len(here)]:
                del origins[stale]
        target[key] = copy.deepcopy(value)
        _record(origins, value, layer, here)
        if keys is not None and isinstance(value, dict):
            _record_keys(keys, value, layer, here)


def _record_keys(keys: Origins, value: dict[str, Any], layer: Layer, path: YamlPath) -> None:
    for key, sub in value.items():
        keys.setdefault(path + (key,), []).append(layer.doc.locate_key(layer.at + path + (key,)))
        if isinstance(sub, dict):
            _record_keys(keys, sub, layer, path + (key,))


def _record(origins: Origins, value: Any, layer: Layer, path: YamlPath) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _record(origins, sub, layer, path + (key,))
        return
    origins.setdefault(path, []).append(layer.doc.locate(layer.at + path))


def overlay_chain(source: Source, env: str) -> list[str]:
    """The overlay names from the root parent down to ``env``."""
    chain: list[str] = []
    current: str | None = env
    while current is not None:
        if current in chain:
            doc = source.overlays[chain[-1]]
            raise InputError([Problem(doc.locate(("extends",)), f"overlay 'extends' cycle: {' -> '.join(chain + [current])}")])
        if current not in source.overlays:
            if not chain:
                known = sorted(source.overlays)
                raise InputError([error("overlays", 1, 1, unknown_environment(current, known))])
            doc = source.overlays[chain[-1]]
            raise InputError([Problem(doc.locate(("extends",)), f"unknown parent overlay {current!r}{did_you_mean(current, sorted(source.overlays))}")])
        chain.append(current)
        parent = source.overlays[current].data.get("extends")
        current = str(parent) if parent is not None else None
    return list(reversed(chain))


Overrides = dict[str, list[tuple[Layer, dict[str, Any]]]]  # component -> the overlays' values for it, in order


def _merge_overlays(
    source: Source, chain: list[str], settings: dict[str, Any], origins: Origins, problems: list[Problem]
) -> tuple[dict[str, Location], Overrides]:
    """Merge the overlay chain's settings; the components it enables (where) and their overriding values."""
    enabled: dict[str, Location] = {}
    overrides: Overrides = {}
    for name in chain:
        doc = source.overlays[name]
        layer = Layer(doc, (), f"overlay {name}")
        merge(settings, origins, {k: v for k, v in doc.data.items() if k not in ("components", "extends")}, layer)
        for comp, spec in (doc.data.get("components") or {}).items():
            spec = spec or {}
            if comp not in source.components:
                problems.append(Problem(doc.locate_key(("components", comp)), f"unknown component {comp!r}{did_you_mean(comp, sorted(source.components))}"))
                continue
            if spec.get("enabled", True) is False:
                enabled.pop(comp, None)
                overrides.pop(comp, None)
                continue
            enabled[comp] = doc.locate_key(("components", comp))
            body = {k: v for k, v in spec.items() if k != "enabled"}
            overrides.setdefault(comp, []).append((Layer(doc, ("components", comp), f"overlay {name}"), body))
    return enabled, overrides


def resolve(source: Source, env: str, cache: Cache | None = None, release: str | None = None) -> Environment:
    """Merge base, component defaults and the overlay chain for ``env``; order the components.

    ``cache`` remembers which component ``values_schema`` are valid JSON Schemas. ``release``
    replaces the overlays' ``openstack_release`` (the two sides of a release upgrade).
    """
    chain = overlay_chain(source, env)
    settings: dict[str, Any] = {"delivery": copy.deepcopy(DEFAULT_DELIVERY), "features": [], "labels": {}, "values": {}}
    settings_origins: Origins = {}
    matrix_origins: Origins = {}
    releases: dict[str, Any] = {}
    for base in source.bases:
        merge(settings, settings_origins, {k: v for k, v in base.data.items() if k != "releases"}, Layer(base, (), "base"))
        merge(releases, matrix_origins, base.data.get("releases", {}), Layer(base, ("releases",), "base"))
    problems: list[Problem] = []
    enabled, overrides = _merge_overlays(source, chain, settings, settings_origins, problems)
    for key in ("namespace", "openstack_release", "kubernetes_version"):
        if key not in settings:
            where = source.overlays[env].locate(())
            problems.append(Problem(where, f"{key!r} is set neither in base/defaults.yaml nor in the overlay chain {' -> '.join(chain)}"))
    raise_if_errors(problems)
    if release is not None:
        settings["openstack_release"] = release
    environment = Environment(env, chain, settings, settings_origins)
    release = str(settings["openstack_release"])
    if release not in releases:
        where = settings_origins.get(("openstack_release",), [Location("base/defaults.yaml", 1, 1)])[-1]
        raise InputError([Problem(where, f"OpenStack release {release!r} is not in the release matrix of base/defaults.yaml{did_you_mean(release, sorted(releases))}")])
    matrix: dict[str, str] = releases[release]["images"]
    environment.image_facts = dict(releases[release].get("facts") or {})
    for comp in _ordered(source, enabled, problems):
        component = source.components[comp]
        values: dict[str, Any] = {"replicas": {}, "images": {}, "conf": {}, "values": {}}
        origins: Origins = {}
        keys: Origins = {}
        merge(values, origins, component.doc.data.get("defaults", {}), Layer(component.doc, ("defaults",), f"component {comp}"), keys=keys)
        for layer, body in overrides.get(comp, []):
            merge(values, origins, body, layer, keys=keys)
        for container, ref in list(values["images"].items()):
            if ref in matrix:
                values["images"][container] = matrix[ref]
                origins[("images", container)].append(matrix_origins[(release, "images", ref)][-1])
            elif not any(c in ref for c in "/:@"):
                where = origins[("images", container)][-1]
                problems.append(Problem(where, f"image {ref!r} is neither a reference nor a key of the {release} release matrix{did_you_mean(ref, sorted(matrix))}"))
        schema = component.doc.data.get("values_schema")
        if schema is not None:
            problems.extend(_values_problems(comp, schema, values["values"], origins, component.doc, cache, keys))
        environment.components[comp] = ComponentValues(comp, component.version, component.depends_on, values, origins, keys=keys)
    raise_if_errors(problems)
    for resolved in environment.components.values():
        deps = [environment.components[d].wave for d in resolved.depends_on]
        resolved.wave = 1 + max(deps) if deps else 0
    return environment


def _ordered(source: Source, enabled: dict[str, Location], problems: list[Problem]) -> list[str]:
    """Enabled components in dependency order (ties by name); unknown or disabled deps and cycles are problems."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(enabled):
        comp = source.components[name]
        for i, dep in enumerate(comp.depends_on):
            if dep not in source.components:
                problems.append(Problem(comp.doc.locate(("depends_on", i)), f"{name} depends on unknown component {dep!r}{did_you_mean(dep, sorted(source.components))}"))
            elif dep not in enabled:
                problems.append(Problem(enabled[name], f"component {name!r} needs {dep!r}, which this environment does not enable"))
        sorter.add(name, *[d for d in comp.depends_on if d in enabled])
    raise_if_errors(problems)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        first = source.components[cycle[0]]
        raise InputError([Problem(first.doc.locate(("depends_on",)), f"dependency cycle: {' -> '.join(reversed(cycle))}")]) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order



@lru_cache(maxsize=1024)
def _schema_error(schema_json: str) -> str:
    """Why a ``values_schema`` (as sorted JSON) is not a valid JSON Schema; "" when it is (pure)."""
    from ccp_gitops.checks.k8s.fast import valid_schema

    schema = json.loads(schema_json)
    if valid_schema(schema):
        return ""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return str(exc.message)
    return ""


def schema_error(schema: dict[str, Any], cache: Cache | None) -> str:
    """``_schema_error`` through the disk cache: checking against the meta-schema takes ~7 ms a schema."""
    text = json.dumps(schema, sort_keys=True)
    key = digest("values-schema", text)
    found = cache.get("schema", key) if cache is not None else None
    if found is not None:
        return found.decode()
    message = _schema_error(text)
    if cache is not None:
        cache.put("schema", key, message.encode())
    return message


def _values_problems(
    name: str, schema: dict[str, Any], values: dict[str, Any], origins: Origins, doc: Document, cache: Cache | None = None, keys: Origins | None = None
) -> list[Problem]:
    """Check a component's merged ``values`` against its own ``values_schema``, located at the layer that set them.

    ``cache`` remembers the (schema, values) pairs found valid: most environments pass unchanged values.
    """
    message = schema_error(schema, cache)
    if message:
        return [Problem(doc.locate(("values_schema",)), f"values_schema is not a valid JSON Schema: {message}")]
    valid_key = digest("values-valid", json.dumps(schema, sort_keys=True), repr(values))
    if cache is not None and cache.get("schema", valid_key) is not None:
        return []
    from ccp_gitops.checks.k8s.fast import certainly_valid, rust_validator

    if certainly_valid(rust_validator(schema), values):  # jsonschema-rs first: valid values need no Python validator
        if cache is not None:
            cache.put("schema", valid_key, b"")
        return []
    from jsonschema import Draft202012Validator

    problems = []
    for err in Draft202012Validator(schema).iter_errors(values):
        path: YamlPath = ("values", *err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for key in extra:
                written = (keys or {}).get(path + (key,))
                where = written[-1] if written else _origin(origins, path + (key,), doc)
                problems.append(Problem(where, f"{name}: values.{'.'.join(map(str, path[1:] + (key,)))}: unknown value (not in the component's values_schema)"))
            continue
        where = _origin({**(keys or {}), **origins}, path, doc)
        dotted = ".".join(str(p) for p in path)
        problems.append(Problem(where, f"{name}: {dotted}: {err.message}"))
    if cache is not None and not problems:
        cache.put("schema", valid_key, b"")
    return problems


def _origin(origins: Origins, path: YamlPath, doc: Document) -> Location:
    probe = tuple(path)
    while probe:
        if probe in origins:
            return origins[probe][-1]
        # a mapping's leaves: the first one below it
        below = [p for p in origins if p[: len(probe)] == probe]
        if below:
            return origins[min(below, key=lambda p: tuple(map(str, p)))][-1]
        probe = probe[:-1]
    return doc.locate(("defaults",))
