"""Diff of object sets keyed by ResId: added, removed and changed objects with their changed fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ccp_gitops.diff.config import compare_data, mask_credentials, mask_line
from ccp_gitops.diff.model import FieldChange, FileChange, Op
from ccp_gitops.model.paths import dotted_path
from ccp_gitops.model.resid import ResId

Keys = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PLAIN_ITEM = re.compile(r"^[A-Za-z0-9_.:/-]+$")
_SECRET_KINDS = {("", "Secret")}
_ESO_GROUP_SUFFIX = "external-secrets.io"


@dataclass
class ParsedObj:
    """One object read from an env tree file."""

    id: ResId
    body: dict[str, Any]
    component: str
    path: str


@dataclass
class Pair:
    """An object identity and its two sides (None where it does not exist)."""

    id: ResId
    old: ParsedObj | None
    new: ParsedObj | None

    @property
    def component(self) -> str:
        side = self.new or self.old
        assert side is not None
        return side.component


def pairs(old: dict[ResId, ParsedObj], new: dict[ResId, ParsedObj]) -> list[Pair]:
    """Every identity whose object differs between the sides, sorted by ResId."""
    out = []
    for rid in sorted(set(old) | set(new)):
        before, after = old.get(rid), new.get(rid)
        if before is not None and after is not None and before.body == after.body and before.component == after.component:
            continue
        out.append(Pair(rid, before, after))
    return out


def is_secret_path(rid: ResId, keys: Keys) -> bool:
    """True where values are secret: Secret data/stringData, any stringData, ExternalSecret templates."""
    if (rid.group, rid.kind) in _SECRET_KINDS and keys[:1] in (("data",), ("stringData",)):
        return True
    if "stringData" in keys:
        return True
    if rid.group.endswith(_ESO_GROUP_SUFFIX):
        return any(keys[i : i + 2] == ("target", "template") for i in range(len(keys) - 1))
    return False


def format_path(keys: Keys) -> str:
    """``spec.template.spec.containers[api].image``; odd keys as ``annotations["a.b/c"]``."""
    return dotted_path(keys, _PLAIN_KEY, _quote, _PLAIN_ITEM)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _item_name(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    name = item.get("name")
    if name is None and isinstance(item.get("metadata"), dict):
        name = item["metadata"].get("name")
    return name if isinstance(name, str) else None


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """Items keyed by their ``name`` (or ``metadata.name``) when every item has a unique one."""
    names = [_item_name(i) for i in items]
    if not items or any(n is None for n in names) or len(set(names)) != len(names):
        return None
    return {str(n): i for n, i in zip(names, items)}


def _mask(value: Any) -> Any:
    """Credentials hidden in a string value: URL passwords; ``password: x`` lines in multi-line text."""
    if not isinstance(value, str):
        return value
    if "\n" in value:
        return "\n".join(mask_line(line) for line in value.split("\n"))
    return mask_credentials(value)


class _Walker:
    """Collects field changes between two JSON-like trees, redacting secret subtrees."""

    def __init__(self, rid: ResId, skip: frozenset[Keys] = frozenset()) -> None:
        self.rid = rid
        self.skip = skip
        self.out: list[FieldChange] = []

    def emit(self, keys: Keys, op: Op, old: Any, new: Any) -> None:
        path = format_path(keys)
        if is_secret_path(self.rid, keys):
            self.out.append(FieldChange(path, op, redacted=True, keys=keys))
            return
        m_old, m_new = _mask(old), _mask(new)
        if op == "change" and m_old == m_new:
            self.out.append(FieldChange(path, op, redacted=True, keys=keys))
            return
        redacted = m_old != old or m_new != new
        self.out.append(FieldChange(path, op, m_old, m_new, redacted, keys))

    def walk(self, old: Any, new: Any, keys: Keys) -> None:
        if old == new or keys in self.skip:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            self._walk_mappings(old, new, keys, str)
            return
        if isinstance(old, list) and isinstance(new, list) and not is_secret_path(self.rid, keys):
            old_keyed, new_keyed = _keyed(old), _keyed(new)
            if old_keyed is not None and new_keyed is not None:
                self._walk_mappings(old_keyed, new_keyed, keys, lambda name: "\0" + name)  # a named list item
                return
            if len(old) == len(new):
                for index, (a, b) in enumerate(zip(old, new)):
                    self.walk(a, b, keys + (index,))
                return
        self.emit(keys, "change", old, new)


    def _walk_mappings(self, old: dict[Any, Any], new: dict[Any, Any], keys: Keys, key: Callable[[Any], str]) -> None:
        """Removed, added (after the old keys, in the new order) and common keys of two mappings."""
        for name in [*old, *(k for k in new if k not in old)]:
            here = keys + (key(name),)
            if here in self.skip:
                continue
            if name not in new:
                self.emit(here, "remove", old[name], None)
            elif name not in old:
                self.emit(here, "add", None, new[name])
            else:
                self.walk(old[name], new[name], here)

def field_changes(rid: ResId, old: Any, new: Any, skip: frozenset[Keys] = frozenset(), base: Keys = ()) -> list[FieldChange]:
    """The changed fields between two trees (paths start at ``base``), secrets redacted."""
    walker = _Walker(rid, skip)
    walker.walk(old, new, base)
    return walker.out


_CONFIGMAP_DATA: frozenset[Keys] = frozenset({("data",), ("binaryData",)})


def object_changes(pair: Pair) -> tuple[list[FieldChange], list[FileChange]]:
    """Changed fields of an object present on both sides; ConfigMap data is compared as config files."""
    assert pair.old is not None and pair.new is not None
    old, new = pair.old.body, pair.new.body
    files: list[FileChange] = []
    if (pair.id.group, pair.id.kind) == ("", "ConfigMap"):
        fields = field_changes(pair.id, old, new, _CONFIGMAP_DATA)
        files = compare_data(old.get("data"), new.get("data"))
        files += compare_data(old.get("binaryData"), new.get("binaryData"), binary=True)
    else:
        fields = field_changes(pair.id, old, new)
    if pair.old.component != pair.new.component:
        fields.insert(0, FieldChange("(component)", "change", pair.old.component, pair.new.component))
    return fields, files


def iter_containers(template: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Containers and init containers of a pod template."""
    spec = (template or {}).get("spec") or {}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container
