"""Pipeline: load -> validate -> resolve -> render -> assemble -> check -> layout, for one or more environments."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccp_gitops.cache.memo import Memo
from ccp_gitops.checks.keys import unused_keys
from ccp_gitops.checks.stage import Checkers, check_objects, check_options, check_rendered_files
from ccp_gitops.compile.assemble import assemble
from ccp_gitops.compile.layout import EnvTree, build_tree
from ccp_gitops.compile.render import Renderer
from ccp_gitops.compile.resolve import resolve
from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.compile.waves import annotate
from ccp_gitops.delivery.files import delivery_files
from ccp_gitops.delivery.readme import readme_section
from ccp_gitops.delivery.settings import Delivery
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import InputError, Location, Problem, error
from ccp_gitops.source.fetch import lock_sources
from ccp_gitops.source.inputs import crd_dirs, unknown_environment
from ccp_gitops.source.inputs import env_name as env_name
from ccp_gitops.source.tree import Source, load_source


@dataclass
class CompiledTree:
    """An environment through the pipeline, in the slim form a fleet keeps: values, tree and delivery, no objects."""

    env: Environment
    tree: EnvTree
    delivery: Delivery
    warnings: list[Problem] = field(default_factory=list)
    object_count: int = 0


@dataclass
class Compiled(CompiledTree):
    """One environment through the pipeline: its resolved values, objects and tree."""

    objects: list[Obj] = field(default_factory=list)

    def slim(self) -> CompiledTree:
        """The same result without the objects (a fleet's memory then holds files, not object trees)."""
        return CompiledTree(self.env, self.tree, self.delivery, self.warnings, self.object_count)


def source_commit(root: Path) -> str:
    """The source repo's HEAD, with ``-dirty`` when its tree has changes; ``none`` outside git."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    head = git("rev-parse", "--verify", "--quiet", "HEAD")
    if head.returncode != 0:
        return "none"
    dirty = git("status", "--porcelain", "--untracked-files=normal", "--", ".").stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


def input_digest(source: Source, env: Environment) -> str:
    """sha256 over the source files this environment reads."""
    h = hashlib.sha256()
    docs = [*source.bases, *(source.overlays[name] for name in env.chain)]
    if source.site is not None:
        docs.append(source.site)
    texts = list(source.macros)
    for name in env.components:
        comp = source.components[name]
        docs.append(comp.doc)
        texts.extend(comp.templates + comp.files)
    prefixes = [f"{root}/" for root in source.roots]

    def portable(path: str) -> str:  # files of the catalogue or a fetched source show absolute paths
        return next((path[len(p) :] for p in prefixes if path.startswith(p)), path)

    for doc in docs:
        h.update(portable(doc.path).encode() + b"\0" + repr(doc.data).encode() + b"\0")
    for text in texts:
        h.update(text.name.encode() + b"\0" + text.text.encode() + b"\0")
    return h.hexdigest()


def _file_templates(source: Source, env: Environment) -> dict[str, dict[str, Location]]:
    """component -> config file -> where it comes from (its files/ template, else the component definition)."""
    out: dict[str, dict[str, Location]] = {}
    for name in env.components:
        comp = source.components[name]
        where = {t.name.rsplit("/", 1)[-1].removesuffix(".j2"): Location(t.name, 1, 1) for t in comp.files}
        for conf_file in env.components[name].values["conf"]:
            where.setdefault(conf_file, comp.doc.locate(("defaults", "conf", conf_file)))
        out[name] = where
    return out


def env_objects(source: Source, renderer: Renderer, env: Environment, memo: Memo) -> tuple[list[Obj], list[Problem]]:
    """Check the options, render and assemble one resolved environment: its objects with their waves, and warnings."""
    docs = {c: source.components[c].doc.locate(("defaults",)) for c in env.components}
    option_findings = check_options(env, docs)
    if any(p.is_error for p in option_findings):
        raise InputError(option_findings)
    rendered = [renderer.render_cached(env, comp, memo) for comp in env.components.values()]
    key_findings = unused_keys(env, rendered, source)
    if key_findings:
        raise InputError(key_findings)
    file_findings = check_rendered_files(env, {r.component: r.files for r in rendered}, _file_templates(source, env))
    if any(p.is_error for p in file_findings):
        raise InputError(file_findings)
    objects = assemble(env, rendered)
    annotate(objects)
    return objects, option_findings + file_findings


def finish(
    source: Source,
    env: Environment,
    objects: list[Obj],
    findings: list[Problem],
    commit: str,
    checkers: Checkers | None,
    engines: list[str] | None,
    memo: Memo,
    lock_extra: dict[str, Any] | None = None,
) -> Compiled:
    """Check ``objects`` (with ``checkers``), add the delivery objects and lay out the tree."""
    findings = findings + (check_objects(env, objects, checkers, memo) if checkers is not None else [])
    if any(p.is_error for p in findings):
        raise InputError(findings)
    delivery, extra = delivery_files(env, objects, engines, memo.emit)
    notes = readme_section(env, delivery, objects)
    tree = build_tree(
        env, objects, input_digest(source, env), commit, extra=extra, notes=notes, memo=memo,
        sources=lock_sources(source.sources), lock_extra=lock_extra,
    )
    return Compiled(env, tree, delivery, findings, len(objects), objects)


def compile_env(
    source: Source,
    renderer: Renderer,
    name: str,
    commit: str,
    checkers: Checkers | None = None,
    engines: list[str] | None = None,
    memo: Memo | None = None,
) -> Compiled:
    """Run one environment through every stage up to its file tree (``engines`` overrides delivery.engines).

    ``memo`` reuses renders, checks, emitted objects and layers of earlier environments and compiles.
    """
    memo = memo if memo is not None else Memo()
    env = resolve(source, name, memo.cache)
    objects, findings = env_objects(source, renderer, env, memo)
    return finish(source, env, objects, findings, commit, checkers, engines, memo)


def open_session(spec: SessionSpec) -> Session:
    """Load the source ``spec`` names, ready to compile (InputError lists every problem of its files)."""
    source = load_source(spec.source_dir, cache=spec.cache)
    checkers = Checkers(crd_dirs(spec.crds, source.root), spec.cache) if spec.check else None
    return Session(spec, source, Renderer(source, spec.cache), checkers, Memo(spec.cache), source_commit(source.root))


@dataclass
class Session:
    """One loaded source ready to compile environments: its renderer, checkers and memos, shared by all."""

    spec: SessionSpec
    source: Source
    renderer: Renderer
    checkers: Checkers | None
    memo: Memo
    commit: str

    @property
    def engines(self) -> list[str] | None:
        return self.spec.engines

    def unknown(self, name: str) -> Problem | None:
        """The problem of naming an environment the source does not have."""
        if name in self.source.overlays:
            return None
        return error(f"overlays/{name}/env.yaml", 1, 1, unknown_environment(name, sorted(self.source.overlays)))

    def compile(self, name: str) -> Compiled:
        """One environment through every stage; InputError lists its problems."""
        problem = self.unknown(name)
        if problem is not None:
            raise InputError([problem])
        self.memo.begin(str(self.source.root), name, str(self.engines))
        compiled = compile_env(self.source, self.renderer, name, self.commit, self.checkers, self.engines, self.memo)
        self.memo.end()
        return compiled

