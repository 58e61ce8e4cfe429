"""Load stage: read human-written YAML safely, keeping the line and column of every node."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ruamel.yaml is imported when a file is parsed (cached documents need none of it)
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, Node

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


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = True  # we report duplicates ourselves, with both locations
    return yaml


def _loc(display: str, node: Node) -> Location:
    mark = node.start_mark
    return Location(display, mark.line + 1, mark.column + 1)


class _Converter:
    """Turns a composed node graph into plain data, refusing aliases, odd tags and depth."""

    def __init__(self, display: str, yaml: YAML) -> None:
        from ruamel.yaml.error import YAMLError

        self.errors = YAMLError
        self.display = display
        self.constructor = yaml.constructor
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
        kind = getattr(node, "id", "")  # ruamel's node classes name themselves: mapping, sequence, scalar
        if kind == "mapping":
            return self._mapping(node, path)  # type: ignore[arg-type]
        if kind == "sequence":
            if node.tag != "tag:yaml.org,2002:seq":
                self.problems.append(Problem(loc, f"unsupported YAML tag {node.tag!r}"))
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        assert kind == "scalar"
        if node.tag not in _SCALAR_TAGS:
            self.problems.append(Problem(loc, f"unsupported YAML tag {node.tag!r}"))
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except self.errors as exc:
            self.problems.append(Problem(loc, f"invalid scalar: {exc}"))
            return None

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            self.problems.append(Problem(_loc(self.display, node), f"unsupported YAML tag {node.tag!r}"))
        result: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            key_loc = _loc(self.display, key_node)
            if key_node.id != "scalar" or key_node.tag == "tag:yaml.org,2002:merge":
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
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = _yaml()
    try:
        nodes = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError([error(display, line, col, f"invalid YAML: {reason}")]) from None
    except YAMLError as exc:
        raise InputError([error(display, 1, 1, f"invalid YAML: {exc}")]) from None
    if len(nodes) != 1 or nodes[0] is None:
        what = "is empty" if not nodes or nodes[0] is None else "holds more than one YAML document"
        raise InputError([error(display, 1, 1, f"file {what}")])
    converter = _Converter(display, yaml)
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
