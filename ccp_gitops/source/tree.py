"""Source tree: find and load base/, components/ and overlays/ safely, validating each file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ccp_gitops.cache.disk import Cache, digest
from ccp_gitops.model.problems import InputError, Problem, error
from ccp_gitops.source.fetch import FetchedSource, fetch_all
from ccp_gitops.source.inputs import PACKAGE_CATALOGUE, SITE_FILE
from ccp_gitops.source.load import Document, parse_yaml, read_text
from ccp_gitops.source.validate import input_problems

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_TEMPLATE_BYTES = 512 * 1024


@dataclass(frozen=True)
class TextFile:
    """A template or config file template: its source-relative name and text."""

    name: str
    text: str


@dataclass
class Component:
    """components/<name>/: its definition document plus templates and files."""

    name: str
    doc: Document
    templates: list[TextFile]
    files: list[TextFile]

    @property
    def version(self) -> str:
        return str(self.doc.data.get("version", ""))

    @property
    def depends_on(self) -> list[str]:
        return [str(d) for d in self.doc.data.get("depends_on", [])]


@dataclass
class Source:
    """The whole loaded source: base layers (catalogue first), macros, components and overlays."""

    root: Path
    bases: list[Document]
    macros: list[TextFile]
    components: dict[str, Component] = field(default_factory=dict)
    overlays: dict[str, Document] = field(default_factory=dict)
    site: Document | None = None
    roots: list[Path] = field(default_factory=list)
    sources: list[FetchedSource] = field(default_factory=list)  # ccp-gitops.yaml sources:, fetched


def _inside(root: Path, path: Path, display: str, problems: list[Problem]) -> bool:
    """True when ``path`` (following symlinks) stays inside ``root``."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        problems.append(error(display, 1, 1, "broken or looping symlink"))
        return False
    if real != root and root not in real.parents:
        problems.append(error(display, 1, 1, f"symlink leaves the source tree (points to {real})"))
        return False
    return True


def _listdir(root: Path, rel: str, problems: list[Problem]) -> list[str]:
    path = root / rel
    if not path.is_dir():
        return []
    return sorted(os.listdir(path))


def _check_name(name: str, display: str, what: str, problems: list[Problem]) -> bool:
    if not DNS_LABEL.match(name) or len(name) > 40:
        problems.append(
            error(display, 1, 1, f"{what} name {name!r} must be a DNS-1123 label (lower case, digits, '-'; at most 40)")
        )
        return False
    return True


def _text_files(root: Path, rel: str, suffix: str, problems: list[Problem], shown: str | None = None) -> list[TextFile]:
    """Template files of ``root/rel``, named ``rel/<file>`` (or ``shown/<file>``)."""
    out = []
    for entry in _listdir(root, rel, problems):
        display = f"{rel}/{entry}"
        name = f"{shown}/{entry}" if shown is not None else display
        if not entry.endswith(suffix) or not _inside(root, root / display, name, problems):
            continue
        try:
            out.append(TextFile(name, read_text(root / display, name, MAX_TEMPLATE_BYTES)))
        except InputError as exc:
            problems.extend(exc.problems)
    return out


def _load_doc(
    root: Path, rel: str, kind: str, problems: list[Problem], display: str | None = None, cache: Cache | None = None
) -> Document | None:
    path = root / rel
    display = display or rel
    if not path.is_file():
        problems.append(error(display, 1, 1, "missing file"))
        return None
    if not _inside(root, path, display, problems):
        return None
    try:
        text = read_text(path, display)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    key = digest("doc", kind, display, text)
    found = cache.load("doc", key) if cache is not None else None
    if isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], Document):
        problems.extend(found[1])
        return found[0]
    try:
        doc = parse_yaml(text, display)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    found_problems = input_problems(doc, kind)
    if cache is not None:
        cache.store("doc", key, (doc, found_problems))
    problems.extend(found_problems)
    return doc


def _display(root: Path, site_root: Path, rel: str) -> str:
    """Paths in messages: relative inside the site, absolute for files of other roots."""
    return rel if root == site_root else str(root / rel)


def _load_root(
    root: Path, site_root: Path, source: Source, problems: list[Problem], base_required: bool, cache: Cache | None = None
) -> None:
    """Add one root's base/ and components/ to ``source`` (a later root overrides by name)."""

    def show(rel: str) -> str:
        return _display(root, site_root, rel)

    if (root / "base/defaults.yaml").exists() or base_required:
        doc = _load_doc(root, "base/defaults.yaml", "defaults", problems, show("base/defaults.yaml"), cache)
        if doc is not None:
            source.bases.append(doc)
    macros = {m.name: m for m in source.macros}
    macros.update({m.name: m for m in _text_files(root, "base/templates", ".j2", problems)})
    source.macros = list(macros.values())
    for name in _listdir(root, "components", problems):
        rel = f"components/{name}"
        if (root / rel).is_dir() and _inside(root, root / rel, show(rel), problems):
            _load_component(root, rel, name, source, problems, show, cache=cache)


def _load_component(
    root: Path, rel: str, name: str, source: Source, problems: list[Problem], show: Callable[[str], str],
    names: str | None = None, cache: Cache | None = None,
) -> None:
    """Add the component in ``root/rel`` (templates named ``names/...``, default ``rel/...``)."""
    if not _check_name(name, show(rel), "component", problems):
        return
    doc = _load_doc(root, f"{rel}/component.yaml", "component", problems, show(f"{rel}/component.yaml"), cache)
    if doc is None:
        return
    if doc.data.get("name") not in (None, name):
        problems.append(
            Problem(doc.locate(("name",)), f"component name {doc.data.get('name')!r} does not match its folder {name!r}")
        )
    prefix = names if names is not None else rel
    source.components[name] = Component(
        name,
        doc,
        _text_files(root, f"{rel}/templates", ".yaml.j2", problems, f"{prefix}/templates"),
        _text_files(root, f"{rel}/files", ".j2", problems, f"{prefix}/files"),
    )


def _load_pinned(pinned: FetchedSource, source: Source, problems: list[Problem], cache: Cache | None = None) -> None:
    """Add the components of a fetched source: every folder of its path, or the one component at its path.

    They are shown (and their templates named) by their path in the cache, which is unique per
    repository and commit, so two sources never mix templates.
    """
    tree = pinned.tree.resolve()

    def show(rel: str) -> str:
        return str(tree / rel)

    if (pinned.folder / "component.yaml").is_file():
        _load_component(tree, pinned.path, pinned.name, source, problems, show, show(pinned.path), cache)
        return
    for name in _listdir(tree, pinned.path, problems):
        rel = f"{pinned.path}/{name}"
        if (tree / rel).is_dir() and _inside(tree, tree / rel, show(rel), problems):
            _load_component(tree, rel, name, source, problems, show, show(rel), cache)


def load_site(root: Path) -> Document | None:
    """The schema-checked ``ccp-gitops.yaml`` of ``root``; None when ``root`` is not a site repository."""
    if not (root / SITE_FILE).exists():
        return None
    problems: list[Problem] = []
    doc = _load_doc(root.resolve(), SITE_FILE, "site", problems)
    if problems:
        raise InputError(problems)
    return doc


def load_overlay(root: Path, name: str, problems: list[Problem], cache: Cache | None = None) -> Document | None:
    """``overlays/<name>/env.yaml`` of the source at ``root`` (resolved), checked on its own; None for
    an entry that is no overlay (a file) or one with problems (added to ``problems``)."""
    display = f"overlays/{name}"
    if not (root / display).is_dir() or not _inside(root, root / display, display, problems):
        return None
    if not _check_name(name, display, "overlay", problems):
        return None
    return _load_doc(root, f"{display}/env.yaml", "env", problems, cache=cache)


def load_source(root: Path, catalogue: Path = PACKAGE_CATALOGUE, cache: Cache | None = None) -> Source:
    """Load and schema-check a source tree; raise InputError listing every problem.

    A site repository (``ccp-gitops.yaml`` with ``catalogue: bundled``) layers its own base/
    and components/ over the catalogue shipped with ccp-gitops, so upgrading the package
    upgrades the catalogue without copying it.
    Its ``sources:`` (components from other git repositories, pinned) are fetched into the
    cache when missing and layered between the catalogue and the site.
    """
    root = root.resolve()
    problems: list[Problem] = []
    if not (root / "overlays").is_dir():
        raise InputError([error(str(root), 1, 1, "not a ccp-gitops source: no overlays/ folder")])
    source = Source(root, [], [])
    if (root / SITE_FILE).exists():
        source.site = _load_doc(root, SITE_FILE, "site", problems, cache=cache)
    layered = source.site is not None and source.site.data.get("catalogue", "bundled") == "bundled"
    catalogue_roots = [catalogue.resolve()] if layered and catalogue.resolve() != root else []
    if source.site is not None and source.site.data.get("sources") and not problems:
        try:
            source.sources = fetch_all(source.site, root)
        except InputError as exc:
            problems.extend(exc.problems)
    source.roots = [*catalogue_roots, *(s.tree for s in source.sources), root]  # lowest first
    for each in catalogue_roots:
        _load_root(each, root, source, problems, base_required=True, cache=cache)
    for pinned in source.sources:
        _load_pinned(pinned, source, problems, cache)
    _load_root(root, root, source, problems, base_required=not catalogue_roots, cache=cache)
    for name in _listdir(root, "overlays", problems):
        doc = load_overlay(root, name, problems, cache)
        if doc is not None:
            source.overlays[name] = doc
    if problems:
        raise InputError(problems)
    return source
