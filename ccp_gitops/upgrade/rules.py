"""Which release upgrades are supported: OpenStack series paths and RabbitMQ version steps."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The coordinated releases and which are SLURPs, from openstack/releases data/series_status.yaml.
# "Upgrades will be supported between SLURP releases, in addition to between adjacent major
# releases" (openstack/governance resolutions/20220210-release-cadence-adjustment.rst).
SERIES_SOURCE = "openstack/releases data/series_status.yaml"
PATH_RULE = (
    "supported OpenStack upgrades are N -> N+1 and SLURP -> next SLURP "
    "(openstack/governance resolutions/20220210-release-cadence-adjustment.rst; SLURPs from " + SERIES_SOURCE + ")"
)
RABBITMQ_RULE = (
    "RabbitMQ upgrades one minor series at a time (x.y -> x.y+1, 3.13 -> 4.0), all feature flags enabled first "
    "(https://www.rabbitmq.com/docs/upgrade, https://www.rabbitmq.com/docs/feature-flags)"
)
# The last minor series of each RabbitMQ major: the only one that upgrades to the next major's x.0.
RABBITMQ_LAST_MINOR = {3: 13}


@dataclass(frozen=True)
class Series:
    """One coordinated release: its id (2026.1), code name and whether it is a SLURP."""

    release: str
    name: str
    slurp: bool


SERIES: tuple[Series, ...] = (
    Series("2023.1", "antelope", True),
    Series("2023.2", "bobcat", False),
    Series("2024.1", "caracal", True),
    Series("2024.2", "dalmatian", False),
    Series("2025.1", "epoxy", True),
    Series("2025.2", "flamingo", False),
    Series("2026.1", "gazpacho", True),
    Series("2026.2", "hibiscus", False),
    Series("2027.1", "indri", True),
)
_INDEX = {s.release: i for i, s in enumerate(SERIES)}


def path_problem(old: str, new: str) -> str | None:
    """Why upgrading ``old`` -> ``new`` is refused, or None when the path is supported."""
    for release in (old, new):
        if release not in _INDEX:
            return f"{old} -> {new}: unknown OpenStack release {release!r} (known: {', '.join(_INDEX)}; {SERIES_SOURCE})"
    i, j = _INDEX[old], _INDEX[new]
    if j <= i:
        return f"{old} -> {new}: a downgrade; nova and keystone do not support database downgrades (nova doc/source/admin/upgrades.rst)"
    if j == i + 1:
        return None
    slurps = [k for k in range(i + 1, len(SERIES)) if SERIES[k].slurp]
    if SERIES[i].slurp and slurps and slurps[0] == j:
        return None
    via = ", ".join(s.release for s in SERIES[i + 1 : j])
    return f"{old} -> {new}: unsupported upgrade path (skips {via}); {PATH_RULE}"


def steps(old: str, new: str) -> list[str]:
    """The supported releases from ``old`` up to ``new``, one supported hop each (for the refusal hint)."""
    if old not in _INDEX or new not in _INDEX or _INDEX[new] <= _INDEX[old]:
        return []
    out, here = [], old
    while here != new:
        later = [s.release for s in SERIES[_INDEX[here] + 1 : _INDEX[new] + 1] if path_problem(here, s.release) is None]
        here = later[-1]
        out.append(here)
    return out


_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def image_version(ref: str) -> tuple[int, int] | None:
    """(major, minor) of an image reference's tag (``rabbitmq:4.1.2-management`` -> (4, 1)); None without one."""
    tag = ref.rsplit("@", 1)[0]
    if ":" not in tag.rsplit("/", 1)[-1]:
        return None
    match = _VERSION.match(tag.rsplit(":", 1)[1])
    return (int(match.group(1)), int(match.group(2))) if match else None


def rabbitmq_problem(old_ref: str, new_ref: str) -> str | None:
    """Why the RabbitMQ image change ``old_ref`` -> ``new_ref`` is refused, or None."""
    old, new = image_version(old_ref), image_version(new_ref)
    if old is None or new is None or old == new:
        return None
    shown = f"RabbitMQ {old[0]}.{old[1]} -> {new[0]}.{new[1]}"
    if new < old:
        return f"{shown}: a downgrade; {RABBITMQ_RULE}"
    if new[0] == old[0] and new[1] == old[1] + 1:
        return None
    if new == (old[0] + 1, 0) and RABBITMQ_LAST_MINOR.get(old[0]) == old[1]:
        return None
    return f"{shown}: skips a minor series; {RABBITMQ_RULE}"
