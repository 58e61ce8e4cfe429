"""Pipeline: load -> validate -> resolve -> render -> assemble -> check -> layout, for one or more environments."""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .assemble import Obj, assemble
from .cache import Cache
from .memo import Memo
from .delivery import Delivery, delivery_files, readme_section
from .layout import EnvTree, build_tree
from .check import Checkers, check_objects, check_options, check_rendered_files, crd_dirs
from .problems import InputError, Location, Problem, error
from .render import Renderer
from .resolve import Environment, resolve
from .source import Source, load_source
from .waves import annotate


@dataclass
class Compiled:
    """One environment through the pipeline: its resolved values, objects and tree."""

    env: Environment
    objects: list[Obj]
    tree: EnvTree
    delivery: Delivery
    warnings: list[Problem] = field(default_factory=list)


def env_name(arg: str) -> str:
    """``env/prod``, ``prod`` and ``overlays/prod`` all name the environment ``prod``."""
    name = arg.strip().rstrip("/")
    for prefix in ("env/", "overlays/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


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
    for doc in docs:
        h.update(doc.path.encode() + b"\0" + repr(doc.data).encode() + b"\0")
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
    env = resolve(source, name)
    docs = {c: source.components[c].doc.locate(("defaults",)) for c in env.components}
    option_findings = check_options(env, docs)
    if any(p.is_error for p in option_findings):
        raise InputError(option_findings)
    rendered = [renderer.render_cached(env, comp, memo) for comp in env.components.values()]
    file_findings = check_rendered_files(env, {r.component: r.files for r in rendered}, _file_templates(source, env))
    if any(p.is_error for p in file_findings):
        raise InputError(file_findings)
    objects = assemble(env, rendered)
    annotate(objects)
    findings = option_findings + file_findings + (check_objects(env, objects, checkers, memo) if checkers is not None else [])
    if any(p.is_error for p in findings):
        raise InputError(findings)
    delivery, extra = delivery_files(env, objects, engines, memo.emit)
    notes = readme_section(env, delivery, objects)
    tree = build_tree(env, objects, input_digest(source, env), commit, extra=extra, notes=notes, memo=memo)
    return Compiled(env, objects, tree, delivery, findings)


def compile_all(
    source_dir: Path,
    names: list[str],
    crds: list[Path] | None = None,
    check: bool = True,
    engines: list[str] | None = None,
    cache: Cache | None = None,
) -> list[Compiled]:
    """Compile the named environments; every problem of every environment is raised together.

    ``crds`` are CRD folders for the schema check (default: ``$CCP_CRDS``); ``check=False`` skips it.
    ``engines`` overrides the overlays' delivery.engines. ``cache`` keeps parsed inputs, renders,
    checks and emitted objects on disk; the result is the same with or without it.
    """
    source = load_source(source_dir, cache=cache)
    renderer = Renderer(source, cache)
    checkers = Checkers(crd_dirs(crds, source.root), cache) if check else None
    memo = Memo(cache)
    commit = source_commit(source.root)
    results: list[Compiled] = []
    problems = []
    for name in dict.fromkeys(env_name(n) for n in names):
        if name not in source.overlays:
            known = ", ".join(sorted(source.overlays))
            close = difflib.get_close_matches(name, sorted(source.overlays), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(error(f"overlays/{name}/env.yaml", 1, 1, f"unknown environment {name!r}{hint} (known: {known})"))
            continue
        try:
            memo.begin(str(source.root), name, str(engines))
            results.append(compile_env(source, renderer, name, commit, checkers, engines, memo))
            memo.end()
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return results
