"""Validate stage: JSON Schema checks of every input file, all problems at once, with locations."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # jsonschema is imported on first use: cached documents need none of it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

from ccp_gitops.model.problems import Problem
from ccp_gitops.source.catalogue import SCHEMA_DIR
from ccp_gitops.source.load import Document, YamlPath

SCHEMA_BASE_URL = "https://ccp-gitops.dev/schemas/"


@lru_cache(maxsize=None)
def _registry(schema_dir: Path) -> Registry:  # type: ignore[type-arg,unused-ignore]
    from referencing import Registry, Resource

    resources = []
    for path in sorted(schema_dir.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((SCHEMA_BASE_URL + path.name, Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def input_validator(kind: str, schema_dir: Path = SCHEMA_DIR) -> Draft202012Validator:
    """The validator for one input file kind: ``env``, ``component`` or ``defaults``."""
    from jsonschema import Draft202012Validator

    schema = json.loads((schema_dir / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=_registry(schema_dir))


@lru_cache(maxsize=None)
def _fast_input_validator(kind: str, schema_dir: Path) -> Any:
    """jsonschema-rs's validator for one input file kind (None: the Python one alone), over the same schemas."""
    from ccp_gitops.checks.k8s.fast import rust_validator

    resources = [(SCHEMA_BASE_URL + p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(schema_dir.glob("*.schema.json"))]
    return rust_validator(json.loads((schema_dir / f"{kind}.schema.json").read_text(encoding="utf-8")), resources)


def input_problems(doc: Document, kind: str, schema_dir: Path = SCHEMA_DIR) -> list[Problem]:
    """``schema_problems`` of an input file of ``kind``: jsonschema-rs decides first, so a valid file (almost
    every one) needs neither the Python validator nor its import; any other is checked by it, messages as before."""
    from ccp_gitops.checks.k8s.fast import certainly_valid

    if certainly_valid(_fast_input_validator(kind, schema_dir), doc.data):
        return []
    return schema_problems(doc, input_validator(kind, schema_dir))


def _leaf_errors(err: ValidationError) -> Iterable[ValidationError]:
    """For oneOf/anyOf, report the most relevant sub-error instead of the whole alternative list."""
    from jsonschema.exceptions import best_match

    if err.context:
        # an alternative that failed only on its type is the least interesting explanation
        candidates = [e for e in err.context if e.validator != "type"] or err.context
        best = best_match(candidates)
        if best is not None and best.path == err.path and best.validator in ("type", "oneOf", "anyOf"):
            yield err
            return
        if best is not None:
            yield from _leaf_errors(best)
            return
    yield err


def _path_text(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: ValidationError) -> str:
    where = _path_text(tuple(err.absolute_path))
    prefix = f"{where}: " if where else ""
    if err.validator == "pattern":
        return f"{prefix}{err.instance!r} does not match {err.validator_value!r}"
    if err.validator == "oneOf":
        return f"{prefix}{err.instance!r} is not a valid value here"
    return prefix + err.message


def schema_problems(
    doc: Document, validator: Draft202012Validator, base: YamlPath = (), data: Any = None
) -> list[Problem]:
    """Every schema violation in ``doc`` (or in ``data`` found at ``base`` inside it)."""
    instance = doc.data if data is None else data
    problems: list[Problem] = []
    for top in validator.iter_errors(instance):
        for err in _leaf_errors(top):
            path = base + tuple(err.absolute_path)
            if err.validator == "additionalProperties" and isinstance(err.instance, Mapping) and isinstance(err.schema, Mapping):
                allowed = set(err.schema.get("properties", {}))
                patterns = list(err.schema.get("patternProperties", {}))
                for key in sorted(err.instance):
                    if key in allowed or any(re.search(p, key) for p in patterns):
                        continue
                    where = _path_text(path)
                    hint = f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
                    problems.append(
                        Problem(doc.locate_key(path + (key,)), f"{where + ': ' if where else ''}unknown field {key!r}{hint}")
                    )
                continue
            if err.validator == "propertyNames":
                problems.append(Problem(doc.locate_key(path + (str(err.instance),)), _message(err)))
                continue
            problems.append(Problem(doc.locate(path), _message(err)))
    return problems
