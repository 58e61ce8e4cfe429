"""Explain: the effective values of one component and every layer that set each of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ccp_gitops.model.environment import ComponentValues, Environment, Origins
from ccp_gitops.model.problems import InputError, Location, Problem, closest
from ccp_gitops.source.load import Document, YamlPath
from ccp_gitops.source.tree import Source

# What a template sees as env.<name>, and the setting of the overlays it comes from.
ENV_VIEW = (
    ("namespace", "namespace"),
    ("release", "openstack_release"),
    ("region", "region"),
    ("kubernetes_version", "kubernetes_version"),
    ("features", "features"),
    ("labels", "labels"),
    ("values", "values"),
)
_UNSET = object()


@dataclass(frozen=True)
class Setter:
    """One layer that set a value: its name, where, and the value it wrote there."""

    layer: str
    location: Location
    value: Any = _UNSET

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"layer": self.layer, "file": self.location.path, "line": self.location.line, "col": self.location.col}
        if self.value is not _UNSET:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Leaf:
    """One effective value and the layers that set it, lowest first (the last one wins)."""

    path: YamlPath
    value: Any
    setters: tuple[Setter, ...]

    @property
    def name(self) -> str:
        return dotted(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "name": self.name, "value": self.value, "layers": [s.to_json() for s in self.setters]}


@dataclass(frozen=True)
class Explanation:
    """What ``ccp-gitops explain`` reports for one component of one environment."""

    env: str
    chain: tuple[str, ...]
    component: str
    path: YamlPath
    single: bool  # the path names one leaf: show every layer
    leaves: tuple[Leaf, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.env,
            "overlays": list(self.chain),
            "component": self.component,
            "path": dotted(self.path) if self.path else None,
            "values": [leaf.to_json() for leaf in self.leaves],
        }


def dotted(path: YamlPath) -> str:
    return ".".join(str(p) for p in path)


def show(value: Any) -> str:
    """A value as one line: JSON, so strings, numbers and lists read unambiguously."""
    return json.dumps(value, ensure_ascii=False)


def _where(leaf: Leaf) -> str:
    return str(leaf.setters[-1].location) if leaf.setters else "built-in default"


def view(env: Environment, comp: ComponentValues) -> tuple[dict[str, Any], Origins]:
    """The component's values plus the ``env.*`` settings its templates see, with their origins."""
    tree: dict[str, Any] = dict(comp.values)
    origins: Origins = dict(comp.origins)
    settings: dict[str, Any] = {}
    for name, key in ENV_VIEW:
        if key in env.settings:
            settings[name] = env.settings[key]
        for path, where in env.settings_origins.items():
            if path[0] == key:
                origins[("env", name, *path[1:])] = where
    tree["env"] = settings
    return tree, origins


def parse_path(text: str, tree: dict[str, Any]) -> YamlPath | None:
    """``conf.keystone.conf.token`` against the value tree: at each level the longest key that exists."""
    tokens = text.strip().split(".") if text.strip(". ") else []

    def walk(node: Any, start: int) -> YamlPath | None:
        if start == len(tokens):
            return ()
        if not isinstance(node, dict):
            return None
        for end in range(len(tokens), start, -1):
            key = ".".join(tokens[start:end])
            if key in node:
                rest = walk(node[key], end)
                if rest is not None:
                    return (key, *rest)
        return None

    return walk(tree, 0)


def _leaves(value: Any, path: YamlPath, origins: Origins) -> list[YamlPath]:
    if isinstance(value, dict) and value:
        return [leaf for key, sub in value.items() for leaf in _leaves(sub, (*path, key), origins)]
    if isinstance(value, dict) and path not in origins:
        return []  # an empty mapping nobody set (a component without conf)
    return [path]


def _all_names(tree: dict[str, Any]) -> list[str]:
    names: list[str] = []

    def walk(node: Any, path: YamlPath) -> None:
        if path:
            names.append(dotted(path))
        if isinstance(node, dict):
            for key, sub in node.items():
                walk(sub, (*path, key))

    walk(tree, ())
    return names


class _Layers:
    """Names the layer of a location and reads the value that layer wrote there."""

    def __init__(self, source: Source, env: Environment, component: str) -> None:
        self.release = env.release
        self.docs: dict[str, tuple[str, Document]] = {}
        for base in source.bases:
            self.docs[base.path] = ("base", base)
        self.docs[source.components[component].doc.path] = (f"component {component}", source.components[component].doc)
        for name in env.chain:
            self.docs[source.overlays[name].path] = (f"overlay {name}", source.overlays[name])
        self.inverse: dict[str, dict[Location, YamlPath]] = {}

    def setter(self, location: Location, path: YamlPath) -> Setter:
        label, doc = self.docs.get(location.path, ("", None))
        if doc is None:
            return Setter(location.path, location)
        at = self._path_at(doc, location)
        if label == "base" and path[:1] == ("images",) and at[:1] == ("releases",):
            label = f"release matrix {self.release}"
        return Setter(label, location, _get(doc.data, at))

    def _path_at(self, doc: Document, location: Location) -> YamlPath:
        if doc.path not in self.inverse:
            table: dict[Location, YamlPath] = {}
            for path, where in doc.positions.items():
                if len(path) >= len(table.get(where, ())):
                    table[where] = path
            self.inverse[doc.path] = table
        return self.inverse[doc.path].get(location, ("<unknown>",))


def _get(data: Any, path: YamlPath) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return _UNSET
    return data


def explain(source: Source, env: Environment, component: str, path: str | None = None) -> Explanation:
    """The effective values of ``component`` in ``env`` (all of them, or those under ``path``)."""
    overlay = source.overlays[env.name]
    if component not in env.components:
        enabled = sorted(env.components)
        if component in source.components:
            message = f"component {component!r} is not enabled in {env.name} (enabled: {', '.join(enabled)})"
        else:
            close = closest(component, sorted(source.components))
            hint = f"; did you mean {close!r}?" if close else f" (enabled in {env.name}: {', '.join(enabled)})"
            message = f"unknown component {component!r}{hint}"
        raise InputError([Problem(overlay.locate_key(("components",)), message)])
    comp = env.components[component]
    tree, origins = view(env, comp)
    parsed: YamlPath = ()
    if path is not None and path.strip(". "):
        found = parse_path(path, tree)
        if found is None:
            close = closest(path, _all_names(tree))
            hint = f"; did you mean {close!r}?" if close else f" (top level: {', '.join(tree)})"
            where = source.components[component].doc.locate_key(("defaults",))
            raise InputError([Problem(where, f"{component} has no value {path!r} in {env.name}{hint}")])
        parsed = found
    value = _get(tree, parsed)
    layers = _Layers(source, env, component)
    leaves = []
    for leaf in _leaves(value, parsed, origins):
        setters = tuple(layers.setter(where, leaf) for where in origins.get(leaf, []))
        leaves.append(Leaf(leaf, _get(tree, leaf), setters))
    single = bool(parsed) and not (isinstance(value, dict) and value)
    return Explanation(env.name, tuple(env.chain), component, parsed, single, tuple(leaves))


Segment = tuple[str, str]  # (text, role): role is "", "path", "value", "where", "layer" or "effective"


def render(explanation: Explanation) -> list[list[Segment]]:
    """The text output as lines of (text, role) segments, so a terminal can colour the roles.

    One ``path = value  (file:line:col)`` line per leaf; for the path of one leaf, every layer
    that set it, lowest first, with the value each wrote.
    """
    if not explanation.single:
        return [
            [(leaf.name, "path"), (" = ", ""), (show(leaf.value), "value"), ("  (", ""), (_where(leaf), "where"), (")", "")]
            for leaf in explanation.leaves
        ]
    lines: list[list[Segment]] = []
    for leaf in explanation.leaves:
        lines.append([(leaf.name, "path"), (" = ", ""), (show(leaf.value), "value")])
        if not leaf.setters:
            lines.append([("  built-in default (no layer sets it)", "where")])
        rows = [(s.layer, str(s.location), "" if s.value is _UNSET else show(s.value)) for s in leaf.setters]
        width = [max((len(r[i]) for r in rows), default=0) for i in range(2)]
        for index, (layer, where, written) in enumerate(rows):
            line: list[Segment] = [("  ", ""), (layer.ljust(width[0]), "layer"), ("  ", ""), (where.ljust(width[1]), "where")]
            line.append(("  " + written, "value") if written else ("", ""))
            if index == len(rows) - 1:
                line.append(("  <- effective", "effective"))
            lines.append(line)
    return lines


def render_text(explanation: Explanation) -> list[str]:
    """The text output without colour."""
    return ["".join(text for text, _ in line).rstrip() for line in render(explanation)]
