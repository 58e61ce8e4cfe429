"""Diff model: the typed report that every diff output format (text, markdown, JSON) renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ccp_gitops.model.errors import CcpError
from ccp_gitops.model.resid import ResId

Op = Literal["add", "remove", "change"]
Change = Literal["added", "removed", "changed"]
Severity = Literal["high", "medium"]
CauseKind = Literal["image", "config", "env", "resources", "command", "pod-spec", "job-spec"]
FileFormat = Literal["ini", "text", "binary"]

SEVERITY_ORDER = {"high": 0, "medium": 1}


class DiffError(CcpError):
    """The diff cannot run: unknown revision, unknown environment, no env repo."""


@dataclass(frozen=True)
class FieldChange:
    """One changed field of an object: its path and old -> new values (absent for add/remove)."""

    path: str
    op: Op
    old: Any = None
    new: Any = None
    redacted: bool = False
    keys: tuple[str | int, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class OptionChange:
    """One option of an INI config file: ``[section] option: old -> new`` (lists for repeated keys)."""

    section: str
    option: str
    op: Op
    old: str | list[str] | None = None
    new: str | list[str] | None = None
    redacted: bool = False


@dataclass(frozen=True)
class FileChange:
    """One config file (a ConfigMap key) compared as config: INI options, or a unified text diff."""

    name: str
    op: Op
    format: FileFormat
    options: tuple[OptionChange, ...] = ()
    unified: str = ""


@dataclass
class ResourceChange:
    """An object added, removed or changed, keyed by its ResId."""

    env: str
    id: ResId
    component: str
    change: Change
    wave: int | None
    fields: list[FieldChange] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)


@dataclass(frozen=True)
class ImageChange:
    """One image of a component (keyed by its container/image name) old -> new."""

    name: str
    op: Op
    old: str | None = None
    new: str | None = None


@dataclass
class ComponentUpgrade:
    """A component present on both sides whose version or images change."""

    env: str
    component: str
    wave: int | None
    old_version: str | None
    new_version: str | None
    images: list[ImageChange] = field(default_factory=list)


@dataclass(frozen=True)
class ReleaseChange:
    """The OpenStack release of an environment, old -> new."""

    env: str
    old: str
    new: str


@dataclass(frozen=True)
class Cause:
    """Why a pod restarts or a Job runs again."""

    cause: CauseKind
    detail: str
    container: str | None = None
    file: str | None = None


@dataclass
class Restart:
    """A workload whose pod template changes, so its pods are replaced."""

    env: str
    id: ResId
    component: str
    wave: int | None
    causes: list[Cause]
    note: str | None = None


@dataclass
class Rerun:
    """A new digest-named Job: it runs when synced; ``replaces`` is the Job it supersedes."""

    env: str
    id: ResId
    component: str
    wave: int | None
    job: str
    replaces: ResId | None
    causes: list[Cause]


@dataclass
class Risk:
    """A change that can fail to apply or lose data."""

    env: str
    component: str
    severity: Severity
    rule: str
    message: str
    id: ResId | None = None
    wave: int | None = None


@dataclass
class PhaseSummary:
    """One phase of a release upgrade the change starts (``ccp-gitops upgrade``): what it rolls, runs and risks."""

    env: str
    number: int
    name: str
    summary: str
    steps: list[str]
    risks: list[str]


@dataclass(frozen=True)
class Endpoint:
    """One side of an environment's comparison: an env-repo revision or a fresh compile of the source."""

    kind: Literal["rev", "source"]
    rev: str | None
    commit: str | None
    exists: bool
    source_commit: str | None = None
    compiler_version: str | None = None
    openstack_release: str | None = None


@dataclass(frozen=True)
class EnvironmentInfo:
    name: str
    old: Endpoint
    new: Endpoint


@dataclass
class DiffReport:
    """Everything one diff found, over one or more environments, in a stable order."""

    environments: list[EnvironmentInfo] = field(default_factory=list)
    resources: list[ResourceChange] = field(default_factory=list)
    releases: list[ReleaseChange] = field(default_factory=list)
    upgrades: list[ComponentUpgrade] = field(default_factory=list)
    restarts: list[Restart] = field(default_factory=list)
    reruns: list[Rerun] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    phases: list[PhaseSummary] = field(default_factory=list)

    def count(self, change: Change, env: str | None = None, component: str | None = None) -> int:
        return sum(
            1
            for r in self.resources
            if r.change == change and (env is None or r.env == env) and (component is None or r.component == component)
        )

    @property
    def empty(self) -> bool:
        return not (self.resources or self.releases or self.upgrades or self.risks)

    def components(self, env: str) -> list[tuple[str, int | None]]:
        """The components this report mentions in ``env``, in wave order: (name, wave)."""
        waves: dict[str, int | None] = {}
        seen: list[tuple[str, str, int | None]] = [(r.env, r.component, r.wave) for r in self.resources]
        seen += [(u.env, u.component, u.wave) for u in self.upgrades]
        seen += [(r.env, r.component, r.wave) for r in self.restarts]
        seen += [(r.env, r.component, r.wave) for r in self.reruns]
        seen += [(r.env, r.component, r.wave) for r in self.risks]
        for item_env, component, wave in seen:
            if item_env == env and waves.get(component) is None:
                waves[component] = wave
        return sorted(waves.items(), key=lambda kv: wave_key(kv[1], kv[0]))


def wave_key(wave: int | None, name: str) -> tuple[int, int, str]:
    """Sort key: components by wave (unknown waves last), then name."""
    return (1 if wave is None else 0, wave or 0, name)
