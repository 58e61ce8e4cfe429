"""The lock file of an environment folder (``ccp-gitops.lock.json``), read into a typed value.

Locks are read from env repos that older or newer compilers wrote, so reading is lenient: a
field that is missing or of the wrong type reads as absent, never as an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True)
class LockedComponent:
    """One component as the lock records it."""

    version: str | None = None
    wave: int | None = None
    depends_on: tuple[str, ...] = ()
    images: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> LockedComponent:
        wave = raw.get("wave")
        images = raw.get("images")
        return cls(
            _text(raw.get("version")),
            wave if isinstance(wave, int) else None,
            tuple(str(d) for d in raw.get("depends_on") or []),
            {str(k): str(v) for k, v in images.items()} if isinstance(images, dict) else {},
        )


@dataclass(frozen=True)
class Lock:
    """What a compile recorded about an environment folder: versions, digests, components, bundle."""

    raw: dict[str, Any]
    components: dict[str, LockedComponent]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Lock:
        comps = raw.get("components")
        found = {str(k): LockedComponent.of(v) for k, v in comps.items() if isinstance(v, dict)} if isinstance(comps, dict) else {}
        return cls(raw, found)

    @classmethod
    def read(cls, data: bytes | None) -> Lock | None:
        """The lock in ``data``; None when there is none, or it is not a JSON object (the env repo may hold anything)."""
        if not data:
            return None
        try:
            raw = json.loads(data)
        except ValueError:
            return None
        return cls.of(raw) if isinstance(raw, dict) else None

    def text(self, key: str) -> str | None:
        """A top-level field as text (``source_commit``, ``compiler_version``, ...), None when missing."""
        return _text(self.raw.get(key))

    @property
    def tree_digest(self) -> str | None:
        return self.text("tree_digest")

    @property
    def release(self) -> str | None:
        return self.text("openstack_release") or None

    @property
    def namespace(self) -> str:
        return self.text("namespace") or ""

    @property
    def bundle(self) -> dict[str, Any]:
        """The ``bundle`` entry (branch, source, layer), empty for locks written before bundles."""
        record = self.raw.get("bundle")
        return record if isinstance(record, dict) else {}

    @property
    def bundle_layer_digest(self) -> str | None:
        layer = self.bundle.get("layer")
        return _text(layer.get("digest")) if isinstance(layer, dict) else None
