"""Emit: stable YAML and JSON bytes for the env repo (libyaml, fixed key order, literal blocks)."""

from __future__ import annotations

import io
import json
from typing import Any

import yaml

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TOP_ORDER = ("apiVersion", "kind", "metadata")
META_ORDER = ("name", "namespace", "labels", "annotations")


class _OutputDumper(_Dumper):  # type: ignore[misc,valid-type]
    """Dumper whose strings with newlines become literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_OutputDumper.add_representer(str, _str)


def ordered(obj: dict[str, Any]) -> dict[str, Any]:
    """A manifest with apiVersion/kind/metadata first and metadata's usual keys in order."""
    out = {k: obj[k] for k in TOP_ORDER if k in obj}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        m = {k: meta[k] for k in META_ORDER if k in meta}
        for key in ("labels", "annotations"):
            if isinstance(m.get(key), dict):
                m[key] = dict(sorted(m[key].items()))
        m.update({k: v for k, v in meta.items() if k not in m})
        out["metadata"] = m
    out.update({k: v for k, v in obj.items() if k not in out})
    return out


_TAG = "tag:yaml.org,2002:"
Resolved = dict[tuple[str, Any], str]  # (scalar, implicit) -> tag: what the resolver's regexes said


class _Shared(Exception):
    """The data holds one list or dict twice: the representer's anchors are needed."""


def _node(data: Any, seen: set[int]) -> yaml.Node | None:
    """What ``_OutputDumper`` represents ``data`` as, for plain data; None for anything else."""
    kind = type(data)
    if kind is str:
        return yaml.ScalarNode(_TAG + "str", data, style="|" if "\n" in data else None)
    if kind is dict or kind is list:
        if id(data) in seen:
            raise _Shared
        seen.add(id(data))
        if kind is dict:
            pairs = []
            for key, value in data.items():
                key_node, value_node = _node(key, seen), _node(value, seen)
                if key_node is None or value_node is None:
                    return None
                pairs.append((key_node, value_node))
            return yaml.MappingNode(_TAG + "map", pairs, flow_style=False)
        items = [_node(item, seen) for item in data]
        return None if any(i is None for i in items) else yaml.SequenceNode(_TAG + "seq", items, flow_style=False)
    if kind is bool:
        return yaml.ScalarNode(_TAG + "bool", "true" if data else "false")
    if kind is int:
        return yaml.ScalarNode(_TAG + "int", str(data))
    if data is None:
        return yaml.ScalarNode(_TAG + "null", "null")
    return None


class _FastDumper(_OutputDumper):
    """Serializes a prepared node; remembers what the implicit resolver said about each scalar."""

    def __init__(self, stream: io.StringIO, resolved: Resolved) -> None:
        super().__init__(stream, default_flow_style=False, allow_unicode=True, width=1 << 16, sort_keys=False)
        self.resolved = resolved

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or len(value) > 256:  # long texts are rarely repeated
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        found = self.resolved.get(key)
        if found is None:
            found = self.resolved[key] = super().resolve(kind, value, implicit)
        return found


def dump_yaml(data: Any, resolved: Resolved | None = None) -> bytes:
    """One YAML document as UTF-8 bytes; the same data always gives the same bytes.

    Plain data (dicts, lists, strings, integers, booleans, null, nothing shared) is turned into
    nodes here and serialized by libyaml, exactly as the representer would, without its per-value
    dispatch; ``resolved`` carries the resolver's answers from one document to the next.
    """
    try:
        node = _node(data, set())
    except _Shared:
        node = None
    if node is None:
        text: str = yaml.dump(
            data, Dumper=_OutputDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16
        )
        return text.encode("utf-8")
    stream = io.StringIO()
    dumper = _FastDumper(stream, resolved if resolved is not None else {})
    dumper.open()
    dumper.serialize(node)
    dumper.close()
    return stream.getvalue().encode("utf-8")


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def load_all(text: str) -> list[Any]:
    """Parse a rendered YAML stream (trusted text produced by our own templates) with libyaml."""
    return list(yaml.load_all(text, Loader=_Loader))
