"""Render stage: sandboxed Jinja2 renders config files and manifests; values never become YAML structure."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import yaml
from jinja2 import BytecodeCache, FunctionLoader, StrictUndefined, Undefined, TemplateError, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from .cache import Cache
from .cache import digest as content_digest
from .emit import load_all
from .memo import Memo
from .problems import InputError, Location, Problem
from .render_cache import DiskBytecodeCache
from .resolve import ComponentValues, Environment
from .source import Component, Source

# A string matching this is inserted into a manifest as it is; anything else is JSON-quoted,
# so no value can add a line, a comment, a flow collection, an anchor or a tag to the YAML.
_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@+=-]*$")


def _encode(value: Any) -> str:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and not value.endswith(":"):
            return value
        return json.dumps(value)
    return json.dumps(_plain(value), sort_keys=False)


def yaml_value(value: Any) -> Markup:
    """Encode a template expression's value for a YAML manifest (the environment's finalize).

    Markup (macro output, ``quote``, ``tojson``) is template-made text and passes as it is;
    everything else is data and is encoded so that it stays one YAML scalar or flow collection.
    """
    if isinstance(value, Markup):
        return value
    return Markup(_encode(value))


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def quote(value: Any) -> Markup:
    """Filter: always emit ``value`` as a quoted YAML/JSON string (e.g. numbers kept as strings)."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return Markup(json.dumps(value if isinstance(value, str) else str(value)))


def to_json(value: Any) -> Markup:
    """Filter: ``value`` as one line of JSON (a YAML flow collection)."""
    return Markup(json.dumps(_plain(value), sort_keys=True))


def ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(ini_value(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{ini_value(v)}" for k, v in value.items())
    text = str(value)
    return text.replace("\n", "\n  ")  # continuation lines, never a new option


def oslo_ini(sections: Mapping[str, Any] | None) -> str:
    """Filter: render ``section -> option -> value`` as an oslo.config INI file (DEFAULT first, sorted)."""
    out: list[str] = []
    if not sections:
        return ""
    names = sorted(sections, key=lambda s: (s != "DEFAULT", s))
    for section in names:
        options = sections[section] or {}
        lines: list[str] = []
        for option in sorted(options):
            value = options[option]
            if value is None:
                continue
            if isinstance(value, Mapping) and value.get("type") == "multistring":
                lines.extend(f"{option} = {ini_value(v)}" for v in value.get("values", []))
            else:
                lines.append(f"{option} = {ini_value(value)}")
        if lines:
            out.append(f"[{section}]\n" + "\n".join(lines) + "\n")
    return "\n".join(out)


def from_json(text: str) -> Any:
    """Filter: parse a macro's JSON output back into data (to compose macros)."""
    return json.loads(str(text))


def prefix(items: Any, text: str) -> list[str]:
    """Filter: ``text`` prepended to every item (e.g. namespace-qualified service names)."""
    return [f"{text}{item}" for item in items]


def digest(value: Any, length: int = 16) -> str:
    """Function: short sha256 of text, or of JSON for anything else."""
    text = value if isinstance(value, str) else json.dumps(_plain(value), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class RenderedManifest:
    """The YAML text one manifest template produced (and its documents, once parsed)."""

    template: str
    text: str
    documents: list[Any] | None = field(default=None, compare=False)


@dataclass
class Rendered:
    """Everything one component rendered: config files and manifest texts."""

    component: str
    files: dict[str, str]
    manifests: list[RenderedManifest]


def source_templates(source: Source) -> dict[str, str]:
    """Every template a render can load by name: macros, and the templates and files of every component."""
    templates = {t.name: t.text for t in source.macros}
    for comp in source.components.values():
        templates.update({t.name: t.text for t in comp.templates})
        templates.update({t.name: t.text for t in comp.files})
    return templates


def _environment(
    templates: dict[str, str], finalize: Callable[[Any], Any], autoescape: bool, bytecode_cache: BytecodeCache | None
) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FunctionLoader(lambda name: (templates[name], name, lambda: True) if name in templates else None),
        undefined=StrictUndefined,
        finalize=finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=autoescape,
        bytecode_cache=bytecode_cache,
    )
    env.filters.update(oslo_ini=oslo_ini, quote=quote, tojson=to_json, ini_value=ini_value, prefix=prefix, from_json=from_json, sh=shell_quote)
    env.globals.update(digest=digest, fail=fail)
    return env


class Renderer:
    """Holds the two sandboxed environments of one source (made on first use); renders components.

    With a cache, compiled templates are kept on disk (Jinja2 bytecode, keyed by template source).
    """

    def __init__(self, source: Source, cache: Cache | None = None) -> None:
        self.source = source
        self.cache = cache
        self.templates = source_templates(source)
        self.templates_digest = content_digest("templates", *(part for name in sorted(self.templates) for part in (name, self.templates[name])))

    def _bytecode(self, flavour: str) -> BytecodeCache | None:
        return DiskBytecodeCache(self.cache, flavour) if self.cache is not None else None

    @cached_property
    def manifest_env(self) -> SandboxedEnvironment:
        return _environment(self.templates, yaml_value, True, self._bytecode("manifest"))

    @cached_property
    def file_env(self) -> SandboxedEnvironment:
        return _environment(self.templates, lambda v: "" if v is None else v, False, self._bytecode("file"))

    def context_key(self, env: Environment, comp: ComponentValues) -> str:
        """Digest of everything a render of ``comp`` can read: the templates and the context's data."""
        context = self.context(env, comp)
        data = [vars(context["env"]), *(context[k] for k in ("component", "replicas", "images", "conf", "values"))]
        return content_digest("render", self.templates_digest, comp.name, repr(data))

    def context(self, env: Environment, comp: ComponentValues) -> dict[str, Any]:
        features = list(env.settings.get("features", []))
        enabled = list(env.components)
        return {
            # a namespace, not a dict: ``env.values`` must not find dict.values
            "env": SimpleNamespace(
                name=env.name,
                namespace=env.namespace,
                release=env.release,
                region=env.settings.get("region", "RegionOne"),
                kubernetes_version=env.settings.get("kubernetes_version"),
                features=features,
                labels=dict(env.settings.get("labels", {})),
                values=env.settings.get("values", {}),
                components=enabled,
            ),
            "component": {"name": comp.name, "version": comp.version, "wave": comp.wave, "depends_on": comp.depends_on},
            "replicas": comp.values["replicas"],
            "images": comp.values["images"],
            "conf": comp.values["conf"],
            "values": comp.values["values"],
            "feature": lambda name: name in features,
            "enabled": lambda name: name in enabled,
        }

    def render(self, env: Environment, comp: ComponentValues) -> Rendered:
        component: Component = self.source.components[comp.name]
        context = self.context(env, comp)
        problems: list[Problem] = []
        files: dict[str, str] = {}
        for tmpl in component.files:
            name = tmpl.name.rsplit("/", 1)[-1][: -len(".j2")]
            text = _render(self.file_env, tmpl.name, context, problems)
            if text is not None:
                files[name] = text
        for name, sections in comp.values["conf"].items():
            if name not in files:
                files[name] = oslo_ini(sections)
        if problems:  # the manifests would only repeat these as missing files
            raise InputError(problems)
        files = dict(sorted(files.items()))
        context["files"] = files
        context["configmap_data"] = lambda names: _pick(files, names, comp.name)
        manifests = []
        for tmpl in component.templates:
            text = _render(self.manifest_env, tmpl.name, context, problems)
            if text is not None:
                manifests.append(RenderedManifest(tmpl.name, text))
        if problems:
            raise InputError(problems)
        return Rendered(comp.name, files, manifests)

    def render_cached(self, env: Environment, comp: ComponentValues, memo: Memo) -> Rendered:
        """``render``, with each manifest's documents parsed; from the disk cache when the same inputs rendered before."""
        key = self.context_key(env, comp)
        cache = memo.cache
        found = cache.load("render", key) if cache is not None else None
        if isinstance(found, Rendered):
            return found
        rendered = self.render(env, comp)
        try:
            parsed = [RenderedManifest(m.template, m.text, memo.documents(m.text, load_all)) for m in rendered.manifests]
        except yaml.YAMLError:
            return rendered  # assemble reports it, with the template's location
        rendered = Rendered(rendered.component, rendered.files, parsed)
        if cache is not None:
            cache.store("render", key, rendered)
        return rendered


def _pick(files: dict[str, str], names: list[str], component: str) -> dict[str, str]:
    missing = [n for n in names if n not in files]
    if missing:
        raise TemplateFailure(f"{component} has no config file {', '.join(map(repr, missing))} (files: {', '.join(files) or 'none'})")
    return {n: files[n] for n in names}


class TemplateFailure(TemplateError):
    """Raised by the ``fail()`` template function: the template refuses its input."""


def fail(message: str) -> None:
    """Function: stop rendering with a located error, e.g. ``{{ fail("RWO volume needs replicas: 1") }}``."""
    raise TemplateFailure(str(message))


def shell_quote(value: Any) -> str:
    """Filter: a value as one shell word (for scripts written inside templates).

    The result passes into a manifest as it is only when it is one line; a multi-line word
    stays data (JSON-encoded), so it can never add YAML structure.
    """
    if isinstance(value, bool):
        value = "true" if value else "false"
    quoted = shlex.quote(str(value))
    return quoted if "\n" in quoted or "\r" in quoted else Markup(quoted)


def _template_line(exc: BaseException, name: str) -> int:
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == name or frame.filename.endswith("/" + name):
            line = frame.lineno or line
    return line


def _render(env: SandboxedEnvironment, name: str, context: dict[str, Any], problems: list[Problem]) -> str | None:
    try:
        return env.get_template(name).render(context)
    except TemplateSyntaxError as exc:
        problems.append(Problem(Location(exc.name or name, exc.lineno or 0, 1), f"template syntax error: {exc.message}"))
    except SecurityError as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), f"template tried an unsafe operation: {exc}"))
    except TemplateFailure as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), str(exc.message or exc)))
    except TemplateError as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), f"template error: {exc.message or exc}"))
    except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError, IndexError) as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), f"template error: {type(exc).__name__}: {exc}"))
    return None
