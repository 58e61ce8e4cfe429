"""The phases of a release upgrade as a diff: what each rolls and (re)runs, its risks (for plan, diff and upgrade --plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ccp_gitops.compile.emit import load_all
from ccp_gitops.compile.pipeline import Compiled, Session
from ccp_gitops.diff.impact import lock_waves, reruns, restarts
from ccp_gitops.diff.model import Change, DiffReport, PhaseSummary, Rerun, ResourceChange, Restart, Risk, Severity
from ccp_gitops.diff.objects import pairs
from ccp_gitops.diff.render.text import cause_text, rollout, rollout_head
from ccp_gitops.diff.risks import risks
from ccp_gitops.diff.sides import Tree, parse_objects, read_lock
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.problems import Problem
from ccp_gitops.upgrade.compile import OldSide, compile_phase, render_sides
from ccp_gitops.upgrade.phases import LAST, PHASES, Phase
from ccp_gitops.upgrade.rules import PATH_RULE
from ccp_gitops.upgrade.state import UpgradeState

Parse = Callable[[str], list[Any]]

SOURCES = (
    "nova doc/source/admin/upgrades.rst",
    "keystone doc/source/admin/upgrading.rst",
    "neutron doc/source/contributor/internals/upgrade.rst",
    "placement doc/source/cli/placement-manage.rst",
)


@dataclass
class PhaseReport:
    """One phase: what changes from the previous phase's tree (phase 1: from the deployed tree)."""

    env: str
    phase: Phase
    diff: DiffReport
    notes: list[Risk] = field(default_factory=list)

    @property
    def steps(self) -> list[Restart | Rerun]:
        return rollout(self.diff, self.env)


@dataclass
class UpgradePlan:
    """A release change of one environment, phase by phase, and the options the new release drops or deprecates."""

    env: str
    old: str
    new: str
    phases: list[PhaseReport]
    options: list[Problem]


def _risk(env: str, component: str, rule: str, message: str, severity: Severity = "medium") -> Risk:
    return Risk(env, component, severity, rule, message)


def _notes(env: Environment, number: int, diff: DiffReport) -> list[Risk]:
    """The upgrade's own risks in phase ``number``, from what the phase rolls and runs."""
    restarted = {r.id.name for r in diff.restarts}
    ran = {r.job for r in diff.reruns}
    replicas = {name: comp.values["replicas"] for name, comp in env.components.items()}
    notes: list[Risk] = []
    if "mariadb" in restarted:
        count = int((replicas.get("mariadb") or {}).get("mariadb", 1))
        message = (f"Galera rolling restart of {count} nodes: one at a time (OrderedReady), each Synced before the next"
                   if count > 1 else "MariaDB restarts: a single node, the databases are unavailable meanwhile")
        notes.append(_risk(env.name, "mariadb", "galera-rolling-restart", message, "high" if count == 1 else "medium"))
    if "rabbitmq" in restarted:
        notes.append(_risk(env.name, "rabbitmq", "rabbitmq-rolling-upgrade", "RabbitMQ nodes restart one at a time after every feature flag was enabled (rabbitmq-feature-flags Job)"))
    enabled = set(env.components)
    if number in (3, 4) and "nova" in enabled:
        notes.append(_risk(env.name, "nova", "computes-pinned", "compute RPC pinned ([upgrade_levels] compute = auto) until phase 5; nova-compute stays on the old release until phase 4"))
    if number == 3 and "glance-db-sync" in ran:
        notes.append(_risk(env.name, "glance", "glance-offline-migration", "glance runs a plain db_sync (its rolling upgrade is experimental upstream): glance-api may fail requests while it rolls"))
    migrating = sorted(enabled & {"nova", "placement"})
    if number == LAST and migrating:
        notes.append(_risk(env.name, migrating[0], "migrations-pending", f"online data migrations ({', '.join(migrating)}) run until they exit 0; the next release change is refused until `upgrade --next` records them completed"))
    if number == LAST and "neutron" in enabled:
        notes.append(_risk(env.name, "neutron", "neutron-contract", "neutron-db-contract fails rather than contract under running servers when has_offline_migrations reports pending contract migrations"))
    return notes


def _phase_diff(env: str, root: str, before: dict[str, bytes], after: dict[str, bytes], parse: Parse) -> DiffReport:
    """What one phase's tree changes from the tree before it: objects, restarts, reruns, risks (``parse``: see
    ``parse_objects``; a phase's new files are the next phase's old ones)."""
    old, new = Tree.from_files(root, "before", before), Tree.from_files(root, "after", after)
    differing = sorted(p for p in set(old.blobs) | set(new.blobs) if old.blobs.get(p) != new.blobs.get(p))
    old_lock, new_lock = read_lock(old), read_lock(new)
    either = new_lock or old_lock
    namespace = either.namespace if either else ""
    changed = pairs(parse_objects(old, differing, namespace, parse), parse_objects(new, differing, namespace, parse))
    waves = lock_waves(old_lock, new_lock)
    report = DiffReport()
    for pair in changed:
        kind: Change = "added" if pair.old is None else "removed" if pair.new is None else "changed"
        report.resources.append(ResourceChange(env, pair.id, pair.component, kind, None))
    report.restarts.extend(restarts(env, changed, waves))
    report.reruns.extend(reruns(env, changed, waves))
    report.risks.extend(risks(env, changed, old_lock, new_lock, waves))
    return report


def upgrade_plan(session: Session, name: str, old: str, new: str) -> UpgradePlan:
    """Compile every phase of ``old`` -> ``new`` for ``name`` and compare each with the one before."""
    from ccp_gitops.checks.stage import upgrade_problems

    first = UpgradeState(old, new, 1)
    sides = render_sides(session, name, first)
    old_side = OldSide(sides.old_env, sides.old)
    baseline = _tree_files(session, name, sides.old_env, sides.old)
    phases: list[PhaseReport] = []
    before = baseline

    def parse(text: str) -> list[Any]:
        return session.memo.documents(text, load_all)

    for spec in PHASES:
        compiled = compile_phase(session, name, UpgradeState(old, new, spec.number), old_side)
        after = _objects_only(compiled.tree.files, compiled.tree.root)
        diff = _phase_diff(name, compiled.tree.root, before, after, parse)
        phases.append(PhaseReport(name, spec, diff, _notes(sides.new_env, spec.number, diff)))
        before = after
    options = [p for p in upgrade_problems(sides.new_env, old, _docs(sides.new_env))]
    return UpgradePlan(name, old, new, phases, options)


def _docs(env: Environment) -> dict[str, Any]:
    from ccp_gitops.model.problems import Location

    return {name: Location(f"components/{name}/component.yaml", 1, 1) for name in env.components}


def _tree_files(session: Session, name: str, env: Environment, objects: list[Any]) -> dict[str, bytes]:
    from ccp_gitops.compile.pipeline import finish

    compiled: Compiled = finish(session.source, env, objects, [], session.commit, None, session.engines, session.memo)
    return _objects_only(compiled.tree.files, compiled.tree.root)


def _objects_only(files: dict[str, bytes], root: str) -> dict[str, bytes]:
    """The component folders and the lock (its waves) of a tree: not the README and delivery objects, which
    change with the lock's phase entry only."""
    return {p: d for p, d in files.items() if p != f"{root}/README.md" and not p.startswith(f"{root}/delivery/")}


def plan_lines(plan: UpgradePlan) -> list[str]:
    """The plan as text: the path rule, then per phase its rollout steps and risks, in order."""
    lines = [
        f"env/{plan.env}: OpenStack {plan.old} -> {plan.new}, a staged upgrade in {LAST} phases (docs/upgrades.md)",
        f"  path: supported; {PATH_RULE}",
        f"  order from: {'; '.join(SOURCES)}",
    ]
    if plan.options:
        lines.append("  options the new release removes or deprecates:")
        lines.extend(f"    {p}" for p in plan.options)
    for item in plan.phases:
        spec = item.phase
        lines += ["", f"phase {spec.number}/{LAST} {spec.name}: {spec.summary}"]
        steps = item.steps
        added, changed, removed = (item.diff.count("added"), item.diff.count("changed"), item.diff.count("removed"))
        lines.append(f"  objects: {added} added, {changed} changed, {removed} removed")
        if not steps:
            lines.append("  rollout: nothing restarts, no Job runs")
        for step in steps:
            causes = ", ".join(sorted({cause_text(c).split()[0] for c in step.causes}))
            lines.append(f"  {rollout_head(step)}" + (f"  [{causes}]" if causes else ""))
        for risk in item.notes + item.diff.risks:
            lines.append(f"  risk {risk.severity}: {risk.rule}: {risk.message}")
    return lines + [""]


def summaries(plan: UpgradePlan) -> list[PhaseSummary]:
    """The plan as the diff report's phases."""
    out = []
    for item in plan.phases:
        steps = [rollout_head(step) for step in item.steps] or ["nothing restarts, no Job runs"]
        risks = [f"{r.severity}: {r.rule}: {r.message}" for r in item.notes + item.diff.risks]
        out.append(PhaseSummary(plan.env, item.phase.number, item.phase.name, item.phase.summary, steps, risks))
    return out


def release_change(session: Session, env: Environment, lock: Lock | None) -> tuple[list[PhaseSummary], list[Risk]]:
    """When the source changes the release ``env`` runs (per ``lock``): the phases of that upgrade, or why
    it would be refused (a high risk), or that an upgrade is still under way. ``session`` is the one that
    compiled ``env`` (its renders, checks and emitted objects serve the phases too)."""
    from ccp_gitops.upgrade.guard import start_problems
    from ccp_gitops.upgrade.state import deployed

    current = deployed(lock.raw if lock is not None else None)
    if current.in_progress and current.upgrade is not None:
        message = f"{current.upgrade.label}: compile refuses; continue with `ccp-gitops upgrade env/{env.name} --next`"
        return [], [_risk(env.name, "", "upgrade-in-progress", message, "high")]
    if current.running is None or current.running == env.release:
        return [], []
    problems = start_problems(env, current, env.release)
    if problems:
        return [], [_risk(env.name, "", "unsupported-upgrade", f"{p.location}: {p.message}", "high") for p in problems]
    return summaries(upgrade_plan(session, env.name, current.running, env.release)), []
