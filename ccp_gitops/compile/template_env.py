"""Template environment: the sandboxed Jinja2 environments, their filters and functions, and located template errors."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping

from jinja2 import BytecodeCache, StrictUndefined, TemplateError, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ccp_gitops.compile.bounds import BoundedSandbox, ResourceLimit, bound_filters, join_bounded, time_limit
from ccp_gitops.compile.precompiled import CatalogueLoader, write_precompiled
from ccp_gitops.model.errors import CcpError
from ccp_gitops.model.problems import Location, Problem

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


def environment(
    templates: dict[str, str], finalize: Callable[[Any], Any], autoescape: bool, bytecode_cache: BytecodeCache | None
) -> SandboxedEnvironment:
    env = BoundedSandbox(
        loader=CatalogueLoader(templates),
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
    bound_filters(env)
    return env


def manifest_environment(templates: dict[str, str], bytecode_cache: BytecodeCache | None) -> SandboxedEnvironment:
    """Renders manifests: every expression's value is encoded as one YAML scalar or flow collection."""
    return environment(templates, yaml_value, True, bytecode_cache)


def file_environment(templates: dict[str, str], bytecode_cache: BytecodeCache | None) -> SandboxedEnvironment:
    """Renders config files: values as text (None as nothing)."""
    return environment(templates, _text, False, bytecode_cache)


def _text(value: Any) -> Any:
    return "" if value is None else value


def precompile_catalogue(root: Path, directory: Path) -> int:
    """Compile the templates under ``root`` (a catalogue: base/, components/) into ``directory``.

    Names as the source loader gives them (``components/<c>/templates/<f>``); macros in both
    flavours, since manifests and config files both import them.
    """
    def texts(pattern: str) -> list[tuple[str, str]]:
        return [(p.relative_to(root).as_posix(), p.read_text(encoding="utf-8")) for p in sorted(root.glob(pattern))]

    macros = texts("base/templates/*.j2")
    return write_precompiled(
        {
            "manifest": (manifest_environment({}, None), macros + texts("components/*/templates/*.yaml.j2")),
            "file": (file_environment({}, None), macros + texts("components/*/files/*.j2")),
        },
        directory,
    )


def pick(files: dict[str, str], names: list[str], component: str, picked: set[str] | None = None) -> dict[str, str]:
    """The config files ``names`` for a ConfigMap (``picked`` notes them: these files are mounted)."""
    missing = [n for n in names if n not in files]
    if missing:
        raise TemplateFailure(f"{component} has no config file {', '.join(map(repr, missing))} (files: {', '.join(files) or 'none'})")
    if picked is not None:
        picked.update(names)
    return {n: files[n] for n in names}


class TemplateFailure(TemplateError, CcpError):
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


def render_template(env: SandboxedEnvironment, name: str, context: dict[str, Any], problems: list[Problem]) -> str | None:
    try:
        with time_limit():
            return join_bounded(env.get_template(name).generate(context))
    except ResourceLimit as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), f"template exceeds a resource bound: {exc.message}"))
    except RecursionError as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), "template recursion too deep"))
    except (MemoryError, OverflowError) as exc:
        problems.append(Problem(Location(name, _template_line(exc, name), 1), f"template exceeds a resource bound: {type(exc).__name__}: {exc}"))
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
