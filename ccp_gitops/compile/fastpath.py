"""No-op fast path: "unchanged" without parsing or rendering, when the inputs are those of a known compile.

After a successful compile, the disk cache records what it produced (tree digest, branch,
object count, warnings) under a digest of everything that compile read (``inputs.Inputs``):
the compiler, the options, the CRD folders, every non-overlay source file, and the environment's
overlay chain. Since a problem in any overlay fails every compile, a marker per overlay also
records that the overlay, with exactly that content, loaded without a problem (loading checks
each overlay on its own). A later compile whose inputs have the same digests, and whose every
overlay is known good, would produce the same tree; when the env repo's lock already records
that tree, nothing needs to be done. Editing one region of a fleet spares all the others.

Inputs are digested before the compile and again after it; the outcome is recorded only when
the two agree (a file edited during the compile records nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ccp_gitops.cache.disk import Cache, digest
from ccp_gitops.source.inputs import Inputs

if TYPE_CHECKING:
    from ccp_gitops.compile.pipeline import CompiledTree
    from ccp_gitops.model.problems import Problem


@dataclass(frozen=True)
class Outcome:
    """What a compile of one environment produced, as far as "unchanged" is concerned."""

    tree_digest: str
    branch: str
    objects: int
    warnings: tuple[str, ...]


def options(check: bool, engines: list[str] | None) -> str:
    """The compile options that change its result (the CRD folders are digested with the inputs)."""
    return f"check={check} engines={','.join(engines) if engines is not None else '-'}"


def lookup(cache: Cache, inputs: Inputs, envs: list[str]) -> dict[str, Outcome]:
    """The recorded outcomes of compiling ``envs`` from exactly these inputs (those known).

    An overlay not known to load (just edited: another region of the fleet) is loaded on its
    own here; when it has a problem, nothing is known (the compile must report it).
    """
    for name in inputs.overlays:
        marker = _overlay_key(inputs, name)
        if cache.get("fast", marker) is None:
            if not _loads(inputs, name, cache):
                return {}
            cache.put("fast", marker, b"")
    found: dict[str, Outcome] = {}
    for env in envs:
        chain = cache.load("fast", digest("chain", inputs.shared, env))
        if not (isinstance(chain, list) and all(isinstance(name, str) for name in chain)):
            continue
        key = inputs.outcome_key(env, chain)
        outcome = cache.load("fast", key) if key is not None else None
        if isinstance(outcome, Outcome):
            found[env] = outcome
    return found


def record(cache: Cache, before: Inputs, after: Inputs, compiled: Sequence[CompiledTree]) -> None:
    """Record the outcomes of a successful compile (``before``/``after``: its inputs around it)."""
    if before != after:
        return
    for name in before.overlays:
        marker = _overlay_key(before, name)
        if cache.get("fast", marker) is None:
            cache.put("fast", marker, b"")
    for item in compiled:
        env = item.env
        key = before.outcome_key(env.name, env.chain)
        if key is None:
            continue
        cache.store("fast", digest("chain", before.shared, env.name), list(env.chain))
        outcome = Outcome(
            str(item.tree.lock["tree_digest"]), item.delivery.branch, item.object_count, tuple(str(w) for w in item.warnings)
        )
        cache.store("fast", key, outcome)


def _loads(inputs: Inputs, name: str, cache: Cache) -> bool:
    """True when the overlay ``name`` loads without a problem (what loading the source checks of it)."""
    from ccp_gitops.model.problems import InputError
    from ccp_gitops.source.tree import load_overlay

    problems: list[Problem] = []
    try:
        load_overlay(inputs.root, name, problems, cache)
    except InputError as exc:
        problems.extend(exc.problems)
    return not problems


def _overlay_key(inputs: Inputs, name: str) -> str:
    return digest("overlay-loads", inputs.shared, name, inputs.overlays[name])
