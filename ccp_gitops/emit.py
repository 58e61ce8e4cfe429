"""Emit: stable YAML and JSON bytes for the env repo (libyaml, fixed key order, literal blocks)."""

from __future__ import annotations

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


def dump_yaml(data: Any) -> bytes:
    """One YAML document as UTF-8 bytes; the same data always gives the same bytes."""
    text: str = yaml.dump(
        data, Dumper=_OutputDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16
    )
    return text.encode("utf-8")


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def load_all(text: str) -> list[Any]:
    """Parse a rendered YAML stream (trusted text produced by our own templates) with libyaml."""
    return list(yaml.load_all(text, Loader=_Loader))
