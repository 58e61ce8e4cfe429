"""Environment: one resolved environment, its settings and enabled components, with the origin of every value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccp_gitops.model.problems import Location
from ccp_gitops.source.load import YamlPath

Origins = dict[YamlPath, list[Location]]


@dataclass
class ComponentValues:
    """The effective values of one component in one environment."""

    name: str
    version: str
    depends_on: list[str]
    values: dict[str, Any]
    origins: Origins
    wave: int = 0
    keys: Origins = field(default_factory=dict)  # where each mapping key was written, lowest layer first

    def origin(self, path: YamlPath) -> Location | None:
        """Where the effective value at ``path`` was set (the last layer that set it, or wrote its key)."""
        probe = tuple(path)
        while probe:
            if probe in self.origins:
                return self.origins[probe][-1]
            if probe in self.keys:
                return self.keys[probe][-1]
            probe = probe[:-1]
        return None


@dataclass
class Environment:
    """One resolved environment: settings plus its enabled components in dependency order."""

    name: str
    chain: list[str]
    settings: dict[str, Any]
    settings_origins: Origins
    components: dict[str, ComponentValues] = field(default_factory=dict)
    # what the release's images are known to contain (the matrix entry's ``facts``)
    image_facts: dict[str, Any] = field(default_factory=dict)
    # set while compiling a phase of a release upgrade: what templates see as ``env.upgrade``
    upgrade: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        return str(self.settings["namespace"])

    @property
    def release(self) -> str:
        return str(self.settings["openstack_release"])

    @property
    def delivery(self) -> dict[str, Any]:
        return dict(self.settings["delivery"])

    def waves(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for comp in self.components.values():
            out.setdefault(comp.wave, []).append(comp.name)
        return {w: sorted(names) for w, names in sorted(out.items())}
