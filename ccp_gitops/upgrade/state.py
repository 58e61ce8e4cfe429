"""Where an environment's release upgrade stands, as its lock file records it, and what may come next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ccp_gitops.upgrade.phases import LAST, phase

PENDING = "pending"
COMPLETED = "completed"


@dataclass(frozen=True)
class UpgradeState:
    """An upgrade ``old`` -> ``new`` at ``phase`` (1-5); ``complete`` once phase 5 was applied and advanced."""

    old: str
    new: str
    phase: int
    complete: bool = False

    @property
    def label(self) -> str:
        if self.complete:
            return f"upgrade {self.old} -> {self.new} complete"
        return f"upgrade {self.old} -> {self.new}, phase {self.phase}/{LAST} ({phase(self.phase).name})"

    def record(self, held_back: list[str]) -> dict[str, Any]:
        """The lock's ``upgrade`` entry."""
        out: dict[str, Any] = {
            "from": self.old,
            "to": self.new,
            "phase": self.phase,
            "phase_name": "complete" if self.complete else phase(self.phase).name,
            "online_migrations": COMPLETED if self.complete else PENDING,
        }
        if held_back:
            out["held_back"] = held_back  # workloads this phase still runs on the old release
        return out

    def next(self) -> UpgradeState:
        """The state after the engines reported this one applied and healthy."""
        if self.phase < LAST:
            return UpgradeState(self.old, self.new, self.phase + 1)
        return UpgradeState(self.old, self.new, LAST, complete=True)


@dataclass(frozen=True)
class Deployed:
    """What an env repo's lock says is deployed: the release, and an upgrade when one is recorded."""

    release: str | None
    upgrade: UpgradeState | None

    @property
    def in_progress(self) -> bool:
        return self.upgrade is not None and not self.upgrade.complete

    @property
    def running(self) -> str | None:
        """The release every service runs once the recorded upgrade completed (else the lock's release)."""
        if self.upgrade is not None and self.upgrade.complete:
            return self.upgrade.new
        return self.release


def deployed(lock: Mapping[str, Any] | None) -> Deployed:
    """Read a lock (None or {} when the environment was never compiled)."""
    lock = lock or {}
    release = lock.get("openstack_release")
    entry = lock.get("upgrade")
    state = None
    if isinstance(entry, dict) and isinstance(entry.get("phase"), int):
        state = UpgradeState(str(entry["from"]), str(entry["to"]), int(entry["phase"]), entry.get("online_migrations") == COMPLETED)
    return Deployed(str(release) if release is not None else None, state)
