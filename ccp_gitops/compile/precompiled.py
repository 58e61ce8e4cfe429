"""Jinja2 templates of the bundled catalogue compiled at build time, found by content at run time.

Compiling the catalogue's ~60 templates costs a second on every fresh machine; the wheel (and an
editable install) carries them compiled instead: Jinja2's generated Python, one module per
(environment flavour, template name, template text) under ``ccp_gitops/_precompiled``, that pip
byte-compiles on install. A module's name is a digest of everything the generated code depends
on (the environment's settings, filters and tests, the Jinja2 version, the template's name and
text), so an edited template, a changed environment or another Jinja2 never finds a stale copy:
it misses and is compiled at run time (then kept in the disk cache as bytecode).

Only Jinja2 and the standard library are imported here: the build hook (setup.py) runs it.
"""

from __future__ import annotations

import hashlib
import shutil
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import CodeType
from typing import Any, Callable, Mapping

import jinja2
from jinja2 import BaseLoader, Environment, Template, TemplateNotFound

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "_precompiled"
FORMAT = "1"


def settings_key(env: Environment) -> str:
    """What the generated code of any template depends on besides the template itself."""
    parts: list[object] = [
        FORMAT,
        jinja2.__version__,
        type(env).__module__,
        type(env).__name__,
        env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
        env.comment_start_string, env.comment_end_string, env.line_statement_prefix, env.line_comment_prefix,
        env.trim_blocks, env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
        env.autoescape if isinstance(env.autoescape, bool) else "callable",
        env.finalize is not None, getattr(env.finalize, "jinja_pass_arg", None), env.optimized,
        sorted(env.extensions), sorted(env.filters), sorted(env.tests),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def module_name(settings: str, name: str, source: str) -> str:
    h = hashlib.sha256()
    for part in (settings, name, source):
        raw = part.encode()
        h.update(b"%d:" % len(raw) + raw)
    return "t_" + h.hexdigest()[:40]


def precompiled_code(directory: Path, settings: str, name: str, source: str) -> CodeType | None:
    """The byte-compiled module of a template compiled at build time, or None."""
    module = module_name(settings, name, source)
    path = directory / f"{module}.py"
    if not path.is_file():
        return None
    try:
        return SourceFileLoader(module, str(path)).get_code(module)  # the .pyc when current
    except (ImportError, OSError, SyntaxError, ValueError):
        return None


class CatalogueLoader(BaseLoader):
    """Templates by name from a dict; the build-time compiled ones load without compiling."""

    def __init__(self, templates: Mapping[str, str], directory: Path = PACKAGE_DIR) -> None:
        self.templates = templates
        self.directory = directory
        self._settings: dict[int, str] = {}

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template not in self.templates:
            raise TemplateNotFound(template)
        return self.templates[template], template, lambda: True

    def load(self, environment: Environment, name: str, globals: Any = None) -> Template:
        source = self.templates.get(name)
        if source is not None and self.directory.is_dir():
            settings = self._settings.get(id(environment))
            if settings is None:
                settings = self._settings[id(environment)] = settings_key(environment)
            code = precompiled_code(self.directory, settings, name, source)
            if code is not None:
                template = environment.template_class.from_code(
                    environment, code, environment.make_globals(globals), lambda: True
                )
                template.filename = name  # located errors name the template, as when compiled here
                return template
        return super().load(environment, name, globals)


def write_precompiled(envs: Mapping[str, tuple[Environment, list[tuple[str, str]]]], directory: Path) -> int:
    """Compile (name, source) templates in their environments into ``directory``; returns the count.

    ``envs`` maps a flavour to its environment and the templates it renders. The directory is
    replaced as a whole, so no module of an older catalogue stays behind.
    """
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "__init__.py").write_text('"""Templates compiled at build time (generated; see ccp_gitops.compile.precompiled)."""\n')
    count = 0
    for env, templates in envs.values():
        settings = settings_key(env)
        for name, source in templates:
            code = env.compile(source, name, name, raw=True)
            (staging / f"{module_name(settings, name, source)}.py").write_text(code)
            count += 1
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return count
