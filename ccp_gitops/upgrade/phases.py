"""The five phases of a release upgrade, and the tree of each: old and new objects, picked per object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ccp_gitops.compile.assemble import pod_spec
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import Problem
from ccp_gitops.model.resid import ResId

UPGRADE_PHASES = "ccp-gitops.io/upgrade-phases"
TIER_PHASE = {"infrastructure": 1, "control-plane": 3, "data-plane": 4}
DEFAULT_TIER = "control-plane"


@dataclass(frozen=True)
class Phase:
    """One phase: its number, short name and what its tree does."""

    number: int
    name: str
    summary: str


# The order is the services' own (docs/upgrades.md lists the sources): infrastructure first;
# schemas expanded by the new code while the old services run (nova, keystone, neutron,
# placement); the control plane, nova's compute RPC pinned; computes and agents after the whole
# control plane (nova, neutron: servers before agents); then unpin, contract, online migrations.
PHASES: tuple[Phase, ...] = (
    Phase(1, "infrastructure", "MariaDB/Galera, RabbitMQ, memcached, logging and monitoring on their new versions; version steps checked"),
    Phase(2, "expand", "pre-checks and schema expand/sync Jobs on the new images while the old services run"),
    Phase(3, "control-plane", "the control plane on the new release in dependency order, conductors before the API, compute RPC pinned"),
    Phase(4, "computes", "nova-compute, the Neutron agents, Open vSwitch and libvirt on the new release"),
    Phase(5, "finalize", "compute RPC unpinned (nova restarts), schemas contracted, online data migrations run to completion"),
)
LAST = len(PHASES)


def phase(number: int) -> Phase:
    return PHASES[number - 1]


def upgrade_context(old: str, new: str, number: int) -> dict[str, Any]:
    """What templates see as ``env.upgrade`` while rendering the new release for phase ``number``."""
    return {"from": old, "to": new, "phase": number, "phase_name": phase(number).name, "pin_compute": 2 <= number <= 4}


@dataclass(frozen=True)
class Tiers:
    """Per component: the phase its objects take the new release in, and its data-plane workloads."""

    component: Mapping[str, int]
    data_plane: Mapping[str, frozenset[str]]

    @classmethod
    def from_definitions(cls, definitions: Mapping[str, Mapping[str, Any]]) -> Tiers:
        """From each component definition's ``upgrade:`` (component name -> component.yaml data)."""
        component, data_plane = {}, {}
        for name, data in definitions.items():
            spec = data.get("upgrade") or {}
            component[name] = TIER_PHASE[str(spec.get("tier", DEFAULT_TIER))]
            data_plane[name] = frozenset(str(w) for w in spec.get("data_plane") or [])
        return cls(component, data_plane)

    def rolls_in(self, obj: Obj) -> int:
        """The phase from which ``obj`` is taken from the new release."""
        if obj.id.name in self.data_plane.get(obj.component, frozenset()) and pod_spec(obj.body) is not None:
            return TIER_PHASE["data-plane"]
        return self.component.get(obj.component, TIER_PHASE[DEFAULT_TIER])


def upgrade_phases(obj: Obj) -> set[int] | None:
    """The phases an upgrade-only object belongs to (its annotation), or None for a regular object."""
    text = ((obj.body.get("metadata") or {}).get("annotations") or {}).get(UPGRADE_PHASES)
    if text is None:
        return None
    return {int(p) for p in str(text).split(",") if p.strip().isdigit()}


def compose(old: list[Obj], new: list[Obj], number: int, tiers: Tiers) -> tuple[list[Obj], list[Problem]]:
    """The objects of phase ``number``: each regular object from the new release once its tier's phase
    has come, else from the old one; upgrade-only objects of the new release in their phases.

    An object both sides claim (e.g. one the old release has and the new one marks upgrade-only) is
    a catalogue defect, reported at the new object's template.
    """
    chosen: dict[ResId, Obj] = {}
    problems: list[Problem] = []
    for obj in new:
        phases = upgrade_phases(obj)
        if (phases is not None and number in phases) or (phases is None and tiers.rolls_in(obj) <= number):
            chosen[obj.id] = obj
    for obj in old:
        if upgrade_phases(obj) is not None or tiers.rolls_in(obj) <= number:
            continue
        if obj.id in chosen:
            problems.append(Problem(chosen[obj.id].origin, f"{obj.id}: in phase {number} both the old release and an upgrade-only object of the new one define it"))
            continue
        chosen[obj.id] = obj
    return [chosen[rid] for rid in sorted(chosen)], problems


def held_back(new: list[Obj], number: int, tiers: Tiers) -> list[str]:
    """Regular workloads of the new release that phase ``number`` still runs on the old one."""
    return sorted(
        f"{o.component}/{o.id.kind}/{o.id.name}" for o in new
        if upgrade_phases(o) is None and pod_spec(o.body) is not None and tiers.rolls_in(o) > number
    )  # fmt: skip
