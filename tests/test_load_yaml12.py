"""The libyaml-based loader reads input as ruamel.yaml's YAML 1.2 safe loader did: same values, same positions."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from ccp_gitops.model.problems import InputError
from ccp_gitops.source.load import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
TRICKY = [
    "yes", "no", "on", "off", "y", "n", "True", "TRUE", "tRue", "false", "~", "null", "Null", "NULL", "",
    "0o17", "017", "0x1F", "0b101", "1_000", "1e3", "1E3", ".5", "+1", "-0", "-.inf", ".Inf", ".NaN", "1.",
    "1.5e-3", "12:30", "0.1.2", "1_0.5", "+.5", "0x_1", "08", "09.5", "0o8", "-0x1F", "+0o7", "1e", ".e3",
    "1.e3", "0.", "1__0", "'quoted'", '"1"', "'true'", "!!str 12", "!!int '12'", "!!float 1", "a b", "1.5.6",
    "+", ".", "-.5e+3", "0b2", "0xG", "1e+", "v1.2", "1_", "_1", ".inf", "-.Inf", "+.inf", "1e03", "12e0",
]


def _reference(text: str) -> tuple[Any, dict[tuple[str | int, ...], tuple[int, int]]] | str:
    """What ruamel.yaml's YAML 1.2 safe loader gives: (data, value positions), or an error class."""
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
        node = yaml.compose(text)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc).__name__
    positions: dict[tuple[str | int, ...], tuple[int, int]] = {}

    def walk(n: Node, path: tuple[str | int, ...]) -> None:
        positions[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, MappingNode):
            for k, v in n.value:
                walk(v, path + (str(yaml.constructor.construct_object(k, deep=True)),))
        elif isinstance(n, SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, path + (i,))

    walk(node, ())
    return data, positions


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _check(text: str) -> None:
    expected = _reference(text)
    try:
        doc = parse_yaml(text, "x.yaml")
    except InputError as exc:
        # ours refuses what ruamel refuses, or what it loads into a type input may not hold (dates)
        assert isinstance(expected, str) or "unsupported YAML tag" in str(exc), (text, expected, str(exc))
        return
    if expected == "ValueError":
        # ruamel.yaml crashes on a few plain scalars its int pattern over-matches (``+_``, ``-_``);
        # the core schema types them as strings
        assert all(isinstance(v, str) for v in doc.data.values()), (text, doc.data)
        return
    assert not isinstance(expected, str), (text, expected, doc.data)
    data, positions = expected
    assert _same(doc.data, data), (text, doc.data, data)
    ours = {p: (loc.line, loc.col) for p, loc in doc.positions.items()}
    # an empty value: libyaml points after its key, ruamel.yaml at the next token (often a line below)
    empty = {p for p in positions if _value(doc.data, p) is None and p in ours and ours[p][0] <= positions[p][0]}
    assert {p: v for p, v in ours.items() if p not in empty} == {p: v for p, v in positions.items() if p not in empty}, text


def _value(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@pytest.mark.parametrize("scalar", TRICKY)
def test_scalars_are_typed_as_yaml_1_2(scalar: str) -> None:
    _check(f"key: {scalar}\nlist: [{scalar or 'null'}, x]\n")


def test_every_short_number_like_scalar() -> None:
    for alphabet, longest in (("0+-._eob1x", 3), ("0.1e+_", 4)):
        for chars in (c for length in range(1, longest + 1) for c in itertools.product(alphabet, repeat=length)):
            text = "".join(chars)
            if text.startswith(("-", ".")) and len(text) > 1 and text[1] in " ":
                continue
            _check(f"k: '{text}'\nv: {text}\n" if text not in ("-",) else "k: x\n")


def test_catalogue_inputs_load_the_same() -> None:
    files = [*ROOT.glob("base/*.yaml"), *ROOT.glob("components/*/component.yaml"), *ROOT.glob("overlays/*/*.yaml")]
    assert len(files) > 15
    for path in files:
        _check(path.read_text(encoding="utf-8"))


def test_positions_count_characters_not_bytes() -> None:
    text = "a: 'ünïcödé'\nb: [x, é, y]\n"
    _check(text)
    doc = parse_yaml(text, "x.yaml")
    assert (doc.positions[("b", 2)].line, doc.positions[("b", 2)].col) == (2, 11)
