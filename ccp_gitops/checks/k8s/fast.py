"""jsonschema-rs answers "is this object valid?" ten times faster than the Python validator.

Almost every rendered object is valid, so the Rust validator (jsonschema-rs, compiled from the
same JSON Schema and the same definitions) decides first; the Python ``jsonschema`` validator,
whose errors carry the paths and keywords our messages are made from, runs only on objects the
Rust one rejects, so every message is exactly what it was. Formats are not checked by either
(annotations in Draft 2020-12). A schema the Rust validator cannot compile (a pattern its regex
engine refuses) is checked by the Python validator alone.
"""

from __future__ import annotations

import re
from typing import Any, Hashable, Iterator, Mapping, Protocol, Sequence


class _RustValidator(Protocol):
    def is_valid(self, instance: Any) -> bool: ...


class FastValidators:
    """One Rust validator per schema key, built on first use, over one set of shared definitions."""

    def __init__(self, definitions_id: str, definitions: Mapping[str, Any]) -> None:
        self._definitions = (definitions_id, dict(definitions))
        self._registry: Any = None
        self._validators: dict[Hashable, _RustValidator | None] = {}

    def _build(self, schema: Mapping[str, Any] | bool) -> _RustValidator | None:
        try:
            import jsonschema_rs
        except ImportError:  # a platform without a jsonschema-rs wheel: the Python validator alone
            return None
        try:
            if self._registry is None:
                self._registry = jsonschema_rs.Registry([self._definitions])
            validator: _RustValidator = jsonschema_rs.Draft202012Validator(
                schema if isinstance(schema, bool) else dict(schema), registry=self._registry, validate_formats=False
            )
            return validator
        except Exception:  # noqa: BLE001 - anything it cannot compile is left to the Python validator
            return None

    def valid(self, key: Hashable, schema: Mapping[str, Any] | bool, instance: Any) -> bool:
        """True when the object is certainly valid; False means: ask the Python validator."""
        if key not in self._validators:
            self._validators[key] = self._build(schema)
        validator = self._validators[key]
        if validator is None:
            return False
        try:
            return validator.is_valid(instance)
        except Exception:  # noqa: BLE001 - e.g. a value it cannot convert: the Python validator decides
            return False


def rust_validator(schema: Mapping[str, Any], resources: Sequence[tuple[str, Any]] = ()) -> _RustValidator | None:
    """A jsonschema-rs validator of ``schema`` (its ``$ref``s may name ``resources``: (URI, schema) pairs),
    or None when there is no wheel or it cannot compile the schema (then the Python validator decides)."""
    try:
        import jsonschema_rs

        registry = jsonschema_rs.Registry(list(resources)) if resources else None
        validator: _RustValidator = jsonschema_rs.Draft202012Validator(dict(schema), registry=registry, validate_formats=False)
        return validator
    except Exception:  # noqa: BLE001 - no wheel, a pattern its regex engine refuses, anything odd
        return None


def certainly_valid(validator: _RustValidator | None, instance: Any) -> bool:
    """True when ``validator`` (``rust_validator``) finds ``instance`` valid; False means: ask the Python validator."""
    if validator is None:
        return False
    try:
        return validator.is_valid(instance)
    except Exception:  # noqa: BLE001 - e.g. a value it cannot convert
        return False


def valid_schema(schema: Any) -> bool:
    """True when ``schema`` is certainly a valid Draft 2020-12 schema (False: ask ``jsonschema``).

    jsonschema-rs checks it against the meta-schema; the regular expressions it holds must also
    compile in Python, as ``jsonschema``'s format check of ``regex`` demands.
    """
    try:
        import jsonschema_rs

        if not jsonschema_rs.meta.is_valid(schema):
            return False
        for pattern in _patterns(schema):
            re.compile(pattern)
    except Exception:  # noqa: BLE001 - no wheel, a bad pattern, anything odd: the Python check decides
        return False
    return True


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _patterns(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from (k for k in value if isinstance(k, str))
            yield from _patterns(value)
