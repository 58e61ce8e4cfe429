"""Keys that mean nothing: ``replicas``/``images`` keys no template reads, ``conf`` files no ConfigMap holds.

A render notes the keys its templates read (``Rendered.reads``). A key an overlay sets that the
component's templates never read in this environment takes no effect (a typo like ``apii: 3``):
it is refused at the overlay's line, with the closest key the templates do read. A key set only
in the component's own defaults may be read under a feature this environment lacks, so it is
refused only when no template of the component names it at all.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable

from ccp_gitops.compile.render import Rendered
from ccp_gitops.model.environment import ComponentValues, Environment
from ccp_gitops.model.problems import Location, Problem
from ccp_gitops.source.tree import Source

KINDS = ("replicas", "images")


def _suggest(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _setters(comp: ComponentValues, path: tuple[str, ...], skip: set[str]) -> list[Location]:
    """Where the key at ``path`` was written, lowest layer first (``skip``: files that are not layers, e.g. the release matrix)."""
    return [loc for loc in comp.keys.get(path, []) if loc.path not in skip]


def _mentioned(source: Source, comp: str, key: str) -> bool:
    """Whether any template of the component, or a shared macro, names ``key``."""
    component = source.components[comp]
    word = re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])")
    return any(word.search(t.text) for t in (*component.templates, *component.files, *source.macros))


def unused_keys(env: Environment, rendered: list[Rendered], source: Source) -> list[Problem]:
    """A problem for every ``replicas``/``images`` key and ``conf`` file of ``env`` that takes no effect."""
    problems: list[Problem] = []
    defaults = {name: source.components[name].doc.path for name in env.components}
    matrix = {doc.path for doc in source.bases}
    for item in rendered:
        comp = env.components[item.component]
        if not item.reads:
            continue
        for kind in KINDS:
            read = item.reads.get(kind, frozenset())
            for key in sorted(comp.values[kind]):
                if key in read:
                    continue
                setters = _setters(comp, (kind, key), matrix)
                if not setters:
                    continue
                by_overlay = [loc for loc in setters if loc.path != defaults[comp.name]]
                if not by_overlay and _mentioned(source, comp.name, key):
                    continue  # a default read under a feature or setting this environment does not have
                what = "workload or container" if kind == "images" else "workload"
                problems.append(
                    Problem(setters[-1], f"{comp.name}: {kind}.{key} takes no effect: no {what} of {comp.name} reads it{_suggest(key, read)}")
                )
        mounted = item.reads.get("files", frozenset())
        for name in sorted(comp.values["conf"]):
            if name in mounted:
                continue
            setters = _setters(comp, ("conf", name), set())
            if setters:
                problems.append(
                    Problem(setters[-1], f"{comp.name}: conf file {name!r} takes no effect: no workload of {comp.name} mounts it{_suggest(name, mounted)}")
                )
    return problems
