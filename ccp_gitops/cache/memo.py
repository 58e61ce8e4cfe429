"""Memos of per-object work (YAML emission, schema checks, parsed manifests, bundle layers), keyed by content.

Every entry maps a digest of its input to a pure function's result, so an entry is right
wherever it came from: an earlier environment of the same run (a fleet's regions share most
objects) or an earlier run, through the disk cache. A run's memo lives in one ``Memo``, never in
module state. ``scope(name)`` loads what the last compile of environment ``name`` used and, when
that environment is done, stores what it used this time (one cache entry per environment).
"""

from __future__ import annotations

import hashlib
import pickle
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ccp_gitops.cache.disk import Cache, digest, files_digest
from ccp_gitops.compile.emit import Resolved, dump_yaml, ordered
from ccp_gitops.model.problems import Problem

Messages = tuple[str, ...] | None  # a check's problem texts; None: not validated (custom kind, no CRDs)


def object_key(body: Any) -> bytes:
    """Digest of an object's content, key order and types included (``repr`` is exact for YAML data)."""
    return hashlib.sha256(repr(body).encode()).digest()


def emit_object(body: dict[str, Any], resolved: Resolved | None = None) -> bytes:
    """The env-repo bytes of one object (no memo)."""
    return dump_yaml(ordered(body), resolved)


Emitter = Callable[[dict[str, Any]], bytes]


@dataclass
class Scope:
    """What one environment's compile used: stored as that environment's cache entry when it is done."""

    key: str
    emitted: dict[bytes, bytes] = field(default_factory=dict)
    checked: dict[tuple[str, bytes], Messages] = field(default_factory=dict)
    layers: dict[str, tuple[str, int]] = field(default_factory=dict)
    notes: dict[str, tuple[Problem, ...]] = field(default_factory=dict)


@dataclass
class Memo:
    """The memos of one run (one process), optionally backed by the disk cache."""

    cache: Cache | None = None
    emitted: dict[bytes, bytes] = field(default_factory=dict)
    checked: dict[tuple[str, bytes], Messages] = field(default_factory=dict)
    layers: dict[str, tuple[str, int]] = field(default_factory=dict)
    parsed: dict[bytes, bytes] = field(default_factory=dict)  # manifest text digest -> pickled documents
    notes: dict[str, tuple[Problem, ...]] = field(default_factory=dict)  # checker -> its CRD warnings
    resolved: Resolved = field(default_factory=dict)  # the YAML resolver's answers, by scalar
    keys: dict[int, bytes] = field(default_factory=dict)  # id(body) -> object_key, within one environment
    current: Scope | None = None

    def begin(self, *identity: str) -> None:
        """Start an environment: merge in what its last compile stored."""
        self.current = Scope(digest("env-memo", *identity))
        self.keys.clear()
        if self.cache is None:
            return
        stored = self.cache.load("memo", self.current.key)
        if isinstance(stored, Scope):
            self.emitted.update(stored.emitted)
            self.checked.update(stored.checked)
            self.layers.update(stored.layers)
            self.notes.update(stored.notes)

    def end(self) -> None:
        """Finish the environment: store what it used (replacing the previous entry)."""
        if self.cache is not None and self.current is not None:
            self.cache.store("memo", self.current.key, self.current)
        self.current = None
        self.keys.clear()

    def key(self, body: Any, remember: bool = False) -> bytes:
        """``object_key(body)``; ``remember`` keeps it for the rest of the environment's compile.

        Only for the environment's own objects, alive (so their ids unique) until ``end``, and
        changed by no stage after their check, the first to ask.
        """
        found = self.keys.get(id(body))
        if found is None:
            found = object_key(body)
            if remember and self.current is not None:
                self.keys[id(body)] = found
        return found

    def emit(self, body: dict[str, Any]) -> bytes:
        """``emit_object`` through the memo."""
        key = self.key(body)
        data = self.emitted.get(key)
        if data is None:
            data = self.emitted[key] = emit_object(body, self.resolved)
        if self.current is not None:
            self.current.emitted[key] = data
        return data

    def checked_messages(self, checker: str, key: bytes) -> tuple[bool, Messages]:
        """(found, messages) of an earlier check of the object ``key`` by the checker ``checker``."""
        if (checker, key) in self.checked:
            messages = self.checked[(checker, key)]
            self._keep_check(checker, key, messages)
            return True, messages
        return False, None

    def record_check(self, checker: str, key: bytes, messages: Messages) -> None:
        self.checked[(checker, key)] = messages
        self._keep_check(checker, key, messages)

    def _keep_check(self, checker: str, key: bytes, messages: Messages) -> None:
        # only clean results go to disk: a problem is found again (and reported) every time
        if self.current is not None and not messages:
            self.current.checked[(checker, key)] = messages

    def checker_notes(self, checker: str, build: Callable[[], Sequence[Problem]]) -> tuple[Problem, ...]:
        """The warnings of a checker's own inputs (its CRD files), found once."""
        found = self.notes.get(checker)
        if found is None:
            found = self.notes[checker] = tuple(build())
        if self.current is not None:
            self.current.notes[checker] = found
        return found

    def layer(self, files: dict[str, bytes], build: Callable[[], tuple[str, int]]) -> tuple[str, int]:
        """(digest, size) of the bundle layer of ``files`` (``build`` computes it on a miss)."""
        key = files_digest(files)
        found = self.layers.get(key)
        if found is None:
            found = self.layers[key] = build()
        if self.current is not None:
            self.current.layers[key] = found
        return found

    def documents(self, text: str, parse: Callable[[str], list[Any]]) -> list[Any]:
        """``parse(text)`` (a YAML stream) as a fresh copy (callers change documents in place).

        Each document is parsed once per run: a stream is cut at its ``---`` lines and each
        piece memoized, so that a template whose output differs between environments in one
        object re-parses that object only. The pieces stand for the whole only when every piece
        parses to mappings (a ``---`` line at column 0 always starts a document then); otherwise
        the whole text is parsed as it is, so errors and odd streams come out exactly as before.
        """
        pieces = _pieces(text)
        if len(pieces) > 1:
            try:
                docs = [doc for piece in pieces for doc in self._parsed(piece, parse)]
            except Exception:
                docs = None
            if docs is not None and all(doc is None or isinstance(doc, dict) for doc in docs):
                return docs
        return self._parsed(text, parse)

    def _parsed(self, text: str, parse: Callable[[str], list[Any]]) -> list[Any]:
        key = hashlib.sha256(text.encode()).digest()
        found = self.parsed.get(key)
        if found is None:
            docs = parse(text)
            self.parsed[key] = pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL)
            return docs
        loaded: list[Any] = pickle.loads(found)
        return loaded


_SEPARATOR = re.compile(r"\n(?=---(?:[ \t\r\n]|$))")


def _pieces(text: str) -> list[str]:
    """``text`` cut before each ``---`` line (a stream with directives stays whole)."""
    if text.startswith("%") or "\n%" in text:
        return [text]
    pieces = _SEPARATOR.split(text)
    return [piece + "\n" for piece in pieces[:-1]] + [pieces[-1]]
