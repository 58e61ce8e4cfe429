"""Compile one phase of a release upgrade: render both releases, take each object from one, build the tree."""

from __future__ import annotations

from dataclasses import dataclass

from ccp_gitops.compile.pipeline import Compiled, Session, env_objects, finish
from ccp_gitops.compile.resolve import resolve
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import InputError, Problem
from ccp_gitops.upgrade.guard import version_step_problems
from ccp_gitops.upgrade.phases import Tiers, compose, held_back, upgrade_context
from ccp_gitops.upgrade.state import UpgradeState


@dataclass(frozen=True)
class OldSide:
    """The old release of one environment, resolved and rendered: the same in every phase of an upgrade."""

    env: Environment
    objects: list[Obj]


@dataclass
class Sides:
    """Both releases of one environment, resolved and rendered (the new one for one phase)."""

    old_env: Environment
    new_env: Environment
    old: list[Obj]
    new: list[Obj]
    findings: list[Problem]


def render_sides(session: Session, name: str, state: UpgradeState, old_side: OldSide | None = None) -> Sides:
    """The old release as deployed before the upgrade, and the new one as ``state``'s phase renders it.

    ``old_side`` is the old release of an earlier call for the same environment and old release (no
    stage after rendering changes objects, so a plan renders the old release once for all phases).
    """
    problem = session.unknown(name)
    if problem is not None:
        raise InputError([problem])
    cache = session.memo.cache
    old_env = old_side.env if old_side is not None else resolve(session.source, name, cache, release=state.old)
    new_env = resolve(session.source, name, cache, release=state.new)
    if not state.complete:
        new_env.upgrade = upgrade_context(state.old, state.new, state.phase)
    problems = version_step_problems(old_env, new_env)
    if problems:
        raise InputError(problems)
    release = _release_problems(new_env, state.old)
    if any(p.is_error for p in release):
        raise InputError(release)
    old = old_side.objects if old_side is not None else env_objects(session.source, session.renderer, old_env, session.memo)[0]
    new, new_findings = env_objects(session.source, session.renderer, new_env, session.memo)
    return Sides(old_env, new_env, old, new, release + new_findings)


def _release_problems(env: Environment, old: str) -> list[Problem]:
    """Options the source sets that the new release removed (errors) or deprecates (warnings)."""
    from ccp_gitops.checks.stage import upgrade_problems
    from ccp_gitops.model.problems import Location

    docs = {name: Location(f"components/{name}/component.yaml", 1, 1) for name in env.components}
    return upgrade_problems(env, old, docs)


def tiers_of(session: Session, env: Environment) -> Tiers:
    return Tiers.from_definitions({name: session.source.components[name].doc.data for name in env.components})


def compile_phase(session: Session, name: str, state: UpgradeState, old_side: OldSide | None = None) -> Compiled:
    """The tree of ``state`` for environment ``name``; its lock records the upgrade (``old_side``: see ``render_sides``)."""
    sides = render_sides(session, name, state, old_side)
    tiers = tiers_of(session, sides.new_env)
    problems: list[Problem] = []
    kept: list[str] = []
    if state.complete:
        objects = sides.new
    else:
        objects, problems = compose(sides.old, sides.new, state.phase, tiers)
        kept = held_back(sides.new, state.phase, tiers)
    if problems:
        raise InputError(problems)
    session.memo.begin(str(session.source.root), name, str(session.engines), "upgrade", state.label)
    compiled = finish(
        session.source, sides.new_env, objects, sides.findings, session.commit, session.checkers, session.engines,
        session.memo, lock_extra={"upgrade": state.record(kept)},
    )
    session.memo.end()
    return compiled
