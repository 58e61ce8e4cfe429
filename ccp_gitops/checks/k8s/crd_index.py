"""CRD directories read on demand: a cheap text scan finds the kinds each file defines, and only
the files whose kinds an object uses are parsed.

Parsing every CRD file of a directory costs most of a cold compile (3 MB of YAML for Argo CD,
Flux and External Secrets, mostly ApplicationSet and SecretStore schemas no environment uses).
The scan reads the layout every CRD generator writes (controller-gen, kubebuilder, helm):
``apiVersion``/``kind`` at column 0, ``spec.group`` and ``spec.names.kind`` indented by two and
four spaces. A file it cannot read with certainty (JSON, other indentation, flow style,
comments or anchors on those lines, YAML directives) is parsed in full, as before, and so is
every file defining a kind another file defines too (an override to compare).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ccp_gitops.checks.k8s.crds import Crd, CrdFile, crd_files, read_crd_file
from ccp_gitops.model.problems import Problem, warning

Key = tuple[str, str]  # (group, kind)

_DOC_SEPARATOR = re.compile(r"\n---[ \t]*(?=\n|$)")
_DIRECTIVE_OR_END = re.compile(r"\n(?:%|\.\.\.)")
# Every pattern starts with a newline (documents are scanned with one prepended): a literal
# prefix lets the regex engine skip through megabytes of schema quickly.
_TOP_LEVEL = re.compile(r"\n([^ \t#\n-][^\n]*)")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_SPEC = re.compile(r"\nspec:[ \t]*(?=\n|$)")
_GROUP = re.compile(r"\n  group:[ \t]*([^\n]*?)[ \t]*(?=\n|$)")
_NAMES = re.compile(r"\n  names:[ \t]*((?:\n(?:    [^\n]*|[ \t]*))*)")
_NAMES_KIND = re.compile(r"\n    kind:[ \t]*([^\n]*?)[ \t]*(?=\n|$)")


def _plain(value: str) -> str | None:
    """A scalar written plain or quoted without escapes, if it is a simple name; else None."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value if _NAME.fullmatch(value) else None


def _scan_document(text: str) -> tuple[bool, Key | None]:
    """(certain, the (group, kind) it defines or None when it is not a CRD) of one document."""
    keys: dict[str, str] = {}
    for line in _TOP_LEVEL.findall(text):
        key, colon, value = line.partition(":")
        if not colon or key in keys or not _NAME.fullmatch(key):
            return False, None  # a top-level sequence, a quoted or complex key, a merge key
        keys[key] = value.strip()
    if not keys:
        return True, None  # empty or only comments
    if "kind" not in keys:
        return True, None
    kind = _plain(keys["kind"])
    if kind is None:
        return False, None
    if kind != "CustomResourceDefinition":
        return True, None
    spec_line = _SPEC.search(text)
    if keys.get("apiVersion") != "apiextensions.k8s.io/v1" or spec_line is None:
        return False, None
    following = _TOP_LEVEL.search(text, spec_line.end())
    spec = text[spec_line.end() : following.start() if following else len(text)]
    groups, names = _GROUP.findall(spec), _NAMES.findall(spec)
    if len(groups) != 1 or len(names) != 1:
        return False, None
    kinds = _NAMES_KIND.findall(names[0])
    group, names_kind = _plain(groups[0]), _plain(kinds[0]) if len(kinds) == 1 else None
    if group is None or names_kind is None:
        return False, None
    return True, (group, names_kind)


def scan_kinds(raw: bytes) -> frozenset[Key] | None:
    """The (group, kind) pairs a CRD file defines, read without parsing; None when unsure."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("\ufeff") or "\r" in text or _DIRECTIVE_OR_END.search(text):
        return None
    found: set[Key] = set()
    for document in _DOC_SEPARATOR.split("\n" + text):
        certain, key = _scan_document(document if document.startswith("\n") else "\n" + document)
        if not certain:
            return None
        if key is not None:
            found.add(key)
    return frozenset(found)


Scanned = tuple[Path, bytes, "frozenset[Key] | None"]


@dataclass
class CrdIndex:
    """The CRDs of ``crd_dirs`` (later files override earlier ones), parsed per kind on first need."""

    crd_dirs: tuple[Path, ...]
    _parsed: dict[Path, CrdFile] = field(default_factory=dict)

    @cached_property
    def files(self) -> list[Scanned]:
        """(path, bytes, scanned kinds) of every CRD file, in override order (unreadable: None kinds)."""
        files: list[Scanned] = []
        for directory in self.crd_dirs:
            for path in crd_files(directory):
                try:
                    raw = path.read_bytes()
                except OSError:
                    files.append((path, b"", None))
                    continue
                files.append((path, raw, scan_kinds(raw)))
        return files

    def _parse(self, path: Path) -> CrdFile:
        found = self._parsed.get(path)
        if found is None:
            found = self._parsed[path] = read_crd_file(path)
        return found

    def candidates(self, key: Key) -> list[tuple[Path, bytes]]:
        """The files that may define ``key`` (by the scan, or unsure), in override order."""
        return [(path, raw) for path, raw, kinds in self.files if kinds is None or key in kinds]

    def get(self, key: Key) -> Crd | None:
        """The CRD of (group, kind): the last file defining it wins."""
        found = None
        for path, _ in self.candidates(key):
            for crd in self._parse(path).crds:
                if (crd.group, crd.kind) == key:
                    found = crd
        return found

    def problems(self) -> list[Problem]:
        """Unreadable or malformed files the scan could not read, and overrides of a different CRD.

        A file the scan read with certainty and whose kinds no other file defines is parsed
        only when an object needs one of its kinds; its problems then show in the lookup.
        """
        seen: dict[Key, int] = {}
        for _, _, kinds in self.files:
            for key in kinds or ():
                seen[key] = seen.get(key, 0) + 1
        crds: dict[Key, Crd] = {}
        problems: list[Problem] = []
        for path, _, kinds in self.files:
            if kinds is not None and all(seen[key] == 1 for key in kinds):
                continue
            loaded = self._parse(path)
            problems.extend(loaded.problems)
            for crd in loaded.crds:
                previous = crds.get((crd.group, crd.kind))
                if previous is not None and previous.versions != crd.versions:
                    problems.append(
                        warning(
                            crd.origin.path,
                            crd.origin.line,
                            crd.origin.col,
                            f"CRD {crd.name} overrides the different one in {previous.origin.path}",
                        )
                    )
                crds[(crd.group, crd.kind)] = crd
        return problems


__all__ = ["CrdIndex", "scan_kinds"]
