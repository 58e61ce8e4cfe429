"""Schema error messages: one readable line per jsonschema error, located by JSON path."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:  # jsonschema is loaded by whoever has an error to describe
    from jsonschema.exceptions import ValidationError

from ccp_gitops.checks.k8s.catalogue import PATTERN_NAMES
from ccp_gitops.model.paths import dotted_path
from ccp_gitops.model.problems import closest

_IDENTIFIER_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")

_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dict, "object"),
    (list, "array"),
    (type(None), "null"),
)


def json_path(parts: Iterable[str | int]) -> str:
    """``spec.template.spec.containers[0].image``; odd keys as ``labels["app.kubernetes.io/name"]``."""
    return dotted_path(parts, _IDENTIFIER_RE, json.dumps)


def _json_type(value: Any) -> str:
    for python_type, name in _JSON_TYPE_NAMES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(error: ValidationError) -> Iterator[tuple[list[str | int], str]]:
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
            hint = closest(str(name), known)
            suffix = f" (did you mean {hint!r}?)" if hint else ""
            yield [*path, name], f"unknown field{suffix}"
        return
    if keyword == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        shown = [str(t) for t in wanted if t != "null"] or [str(t) for t in wanted]
        got = (
            "null (the field is not nullable)"
            if instance is None
            else f"{_json_type(instance)} {short(instance)}"
        )
        yield path, f"expected {' or '.join(shown)}, got {got}"
        return
    if keyword == "pattern" and error.validator_value in PATTERN_NAMES:
        yield path, f"{short(instance)} is not {PATTERN_NAMES[str(error.validator_value)]}"
        return
    if keyword == "enum" and isinstance(error.validator_value, list):
        allowed = [v for v in error.validator_value if v not in ("", None)]
        hint = closest(instance, [str(v) for v in allowed]) if isinstance(instance, str) else None
        if len(allowed) > 8 and hint:
            yield (
                path,
                f"{short(instance)} is not one of the {len(allowed)} allowed values (did you mean {hint!r}?)",
            )
        else:
            suffix = f" (did you mean {hint!r}?)" if hint else ""
            yield path, f"{short(instance)} is not one of {short(allowed, 400)}{suffix}"
        return
    if keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        yield path, f"{short(instance)} is out of range ({keyword} {error.validator_value})"
        return
    message = error.message
    yield path, message if len(message) <= 300 else message[:297] + "..."



def finding_order(finding: tuple[list[str | int], str]) -> tuple[list[tuple[int, int, str]], str]:
    path, message = finding
    return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in path], message

