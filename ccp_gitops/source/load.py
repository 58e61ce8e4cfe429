"""Load stage: read human-written YAML safely, keeping the line and column of every node.

libyaml composes the node graph (every node keeps its line and column; ten times faster than a
pure-Python parser), and the scalars are typed by the YAML 1.2 core schema (``yes``/``on`` stay
strings, ``0o17`` is octal, ``017`` is 17, dates are refused as an unsupported tag), as
ruamel.yaml's safe loader types them: tests/test_load_yaml12.py holds the two to the same answers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ccp_gitops.model.problems import InputError, Location, Problem, error

MAX_FILE_BYTES = 1 << 20  # 1 MiB: no hand-written input needs more
MAX_DEPTH = 64
MAX_NODES = 200_000

YamlPath = tuple[str | int, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class Document:
    """One YAML file as plain data plus the source location of every value and key."""

    path: str
    data: Any
    positions: dict[YamlPath, Location] = field(default_factory=dict)
    key_positions: dict[YamlPath, Location] = field(default_factory=dict)

    def locate(self, path: YamlPath) -> Location:
        """Location of the value at ``path``, or of its nearest located ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Location(self.path, 1, 1))

    def locate_key(self, path: YamlPath) -> Location:
        """Location of the mapping key that ends ``path`` (falls back to the value)."""
        return self.key_positions.get(tuple(path)) or self.locate(path)


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), with the
# underscores, ``0b`` and ``0o`` that YAML 1.2 loaders in Python also read in numbers.
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_RESOLVERS = (
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (_INT, re.compile(r"^(?:[-+]?(?:0b[0-1_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)|[-+][0-9_]*[0-9][0-9_]*)$"), "-+0123456789"),
    (
        _FLOAT,
        re.compile(r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9_]*[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
        "-+0123456789.",
    ),
    (_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:timestamp", re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$"), "0123456789"),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), "<"),
    ("tag:yaml.org,2002:value", re.compile(r"^=$"), "="),
)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's composer with the YAML 1.2 core schema's implicit tags."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _pattern, _first in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, _pattern, list(_first))


def _number(text: str) -> int:
    sign, digits = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
    digits = digits.replace("_", "")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits, 10)


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered[0] == "-" else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text.replace("_", ""))


def _scalar(tag: str, text: str) -> Any:
    """The value of a scalar with a core-schema tag; ValueError when the text is not one."""
    if tag == _NULL:
        if text not in ("", "~", "null", "Null", "NULL"):
            raise ValueError(f"{text!r} is not null")
        return None
    if tag == _BOOL:
        if text not in ("true", "True", "TRUE", "false", "False", "FALSE"):
            raise ValueError(f"{text!r} is not a boolean")
        return text.lower() == "true"
    if tag == _INT:
        return _number(text)
    if tag == _FLOAT:
        return _float(text)
    return text


def _loc(display: str, node: Node) -> Location:
    mark = node.start_mark
    return Location(display, mark.line + 1, mark.column + 1)


class _Converter:
    """Turns a composed node graph into plain data, refusing aliases, odd tags and depth."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.problems: list[Problem] = []
        self.positions: dict[YamlPath, Location] = {}
        self.key_positions: dict[YamlPath, Location] = {}
        self.seen: set[int] = set()
        self.count = 0

    def convert(self, node: Node, path: YamlPath) -> Any:
        loc = _loc(self.display, node)
        self.count += 1
        if self.count > MAX_NODES:
            raise _Abort(Problem(loc, f"document has more than {MAX_NODES} nodes"))
        if len(path) > MAX_DEPTH:
            raise _Abort(Problem(loc, f"nesting deeper than {MAX_DEPTH} levels"))
        if id(node) in self.seen:
            raise _Abort(Problem(loc, "YAML aliases are not supported: use layering instead"))
        self.seen.add(id(node))
        self.positions[path] = loc
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.problems.append(Problem(loc, f"unsupported YAML tag {node.tag!r}"))
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        if node.tag not in _SCALAR_TAGS:
            self.problems.append(Problem(loc, f"unsupported YAML tag {node.tag!r}"))
            return None
        try:
            return _scalar(node.tag, node.value)
        except ValueError as exc:
            self.problems.append(Problem(loc, f"invalid scalar: {exc}"))
            return None

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            self.problems.append(Problem(_loc(self.display, node), f"unsupported YAML tag {node.tag!r}"))
        result: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            key_loc = _loc(self.display, key_node)
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Abort(Problem(key_loc, "mapping keys must be plain scalars (no merge keys)"))
            key = self.convert(key_node, path + ("<key>",))
            self.positions.pop(path + ("<key>",), None)
            if not isinstance(key, (str, int, float, bool)):
                self.problems.append(Problem(key_loc, "mapping keys must be strings"))
                continue
            key = str(key) if not isinstance(key, bool) else str(key).lower()
            if key in first_seen:
                self.problems.append(
                    Problem(key_loc, f"duplicate key {key!r} (first defined at {first_seen[key]})")
                )
                continue
            first_seen[key] = key_loc
            self.key_positions[path + (key,)] = key_loc
            result[key] = self.convert(value_node, path + (key,))
        return result


class _Abort(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def parse_yaml(text: str, display: str) -> Document:
    """Parse one YAML document; raise InputError with located problems."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError([error(display, line, col, f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([error(display, 1, 1, f"invalid YAML: {exc}")]) from None
    if len(nodes) != 1 or nodes[0] is None:
        what = "is empty" if not nodes or nodes[0] is None else "holds more than one YAML document"
        raise InputError([error(display, 1, 1, f"file {what}")])
    converter = _Converter(display)
    try:
        data = converter.convert(nodes[0], ())
    except _Abort as abort:
        raise InputError([abort.problem]) from None
    except RecursionError:
        raise InputError([error(display, 1, 1, "nesting too deep")]) from None
    if converter.problems:
        raise InputError(converter.problems)
    if not isinstance(data, dict):
        raise InputError([error(display, 1, 1, "file must hold a YAML mapping")])
    return Document(display, data, converter.positions, converter.key_positions)


def read_text(path: Path, display: str, limit: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 source file with a size limit; problems raise InputError."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError([error(display, 1, 1, f"cannot read: {exc.strerror}")]) from None
    if size > limit:
        raise InputError([error(display, 1, 1, f"file is {size} bytes, over the limit of {limit}")])
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([error(display, line, col, "file is not valid UTF-8")]) from None


def load_yaml_file(path: Path, display: str) -> Document:
    """Read and parse one YAML file (``display`` is the name used in messages)."""
    return parse_yaml(read_text(path, display), display)
