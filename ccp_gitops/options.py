"""Typed OpenStack configuration: check config values against each release's real option catalogue."""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from ccp_gitops.problems import Location, Problem, error, warning

# What a config value may be: the YAML scalars and collections, as loaded.
ConfFile = Mapping[str, Mapping[str, object]]
Conf = Mapping[str, ConfFile]
Locate = Callable[[tuple[str, ...]], Location]

DEFAULT_SECTION = "DEFAULT"
# oslo.config's types.Boolean accepts these, case-insensitively.
TRUE_STRINGS = frozenset({"true", "1", "on", "yes"})
FALSE_STRINGS = frozenset({"false", "0", "off", "no"})
# oslo.config's types.Hostname / types.HostDomain label rules.
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_DOMAIN_LABEL = re.compile(r"(?!-)[A-Z0-9-_]{1,63}(?<!-)$", re.IGNORECASE)
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*$")
_RANGE = re.compile(r"\s*-?\d+\s*(:\s*-?\d+\s*)?$")


@dataclass(frozen=True)
class OptionSpec:
    """One option of one section, as the release's option catalogue describes it."""

    section: str
    name: str
    type: str
    item_type: str | None = None
    multi: bool = False
    version: int | None = None
    choices: tuple[object, ...] | None = None
    min: int | float | None = None
    max: int | float | None = None
    default: object = None
    secret: bool = False
    deprecated_names: tuple[tuple[str, str], ...] = ()
    deprecated_for_removal: bool = False
    deprecated_reason: str | None = None
    deprecated_since: str | None = None
    auth_plugins: tuple[str, ...] = ()

    @property
    def is_multi(self) -> bool:
        """True when the option may be given several times (a multistring or a multi-valued option)."""
        return self.type == "multistring" or self.multi

    @property
    def label(self) -> str:
        """``[section] name``, as messages show the option."""
        return f"[{self.section}] {self.name}"


Section = Mapping[str, OptionSpec]


@dataclass(frozen=True)
class BackendSections:
    """Sections a service registers per configured backend (glance's ``enabled_backends``).

    ``declared_by`` names the dict option (``id:type`` pairs) that declares the
    backends; ``reserved`` holds the sections the service always registers with
    their store type; a backend of type ``T`` gets the options of every template
    whose name contains ``T`` (glance_store's own rule).
    """

    declared_by: tuple[str, str]
    reserved: Mapping[str, str]
    templates: Mapping[str, Section]

    def store_types(self) -> list[str]:
        """Readable store type names, ``glance.store.rbd.store`` -> ``rbd``."""
        return sorted(t.split(".")[2] if t.count(".") >= 3 else t for t in self.templates)

    def options_for(self, store_type: str | None) -> Section | None:
        """The options of a backend of the given type (all store options when unknown)."""
        chosen = [s for t, s in self.templates.items() if store_type is None or store_type in t]
        if not chosen:
            return None
        merged: dict[str, OptionSpec] = {}
        for section in chosen:
            merged.update(section)
        return MappingProxyType(merged)


@dataclass(frozen=True)
class Catalogue:
    """The options of one config file of one release, from ``schemas/openstack/<release>/<file>.json``."""

    release: str
    file: str
    sections: Mapping[str, Section]
    backend_sections: BackendSections | None
    # (old section, old name) -> the option that replaced it
    renamed: Mapping[tuple[str, str], OptionSpec]

    def option(self, section: str, name: str) -> OptionSpec | None:
        """The option by its current name in a static section, or None."""
        options = self.sections.get(section)
        return None if options is None else options.get(name)


@dataclass(frozen=True)
class _Found:
    """An option set in a config: its spec and whether a deprecated name reached it."""

    spec: OptionSpec
    via_deprecated_name: bool


def _option_spec(section: str, name: str, data: Mapping[str, object]) -> OptionSpec:
    def number(key: str) -> int | float | None:
        value = data.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key)
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    choices = data.get("choices")
    deprecated = data.get("deprecated_names")
    version = data.get("version")
    return OptionSpec(
        section=section,
        name=name,
        type=str(data.get("type", "unknown")),
        item_type=text("item_type"),
        multi=data.get("multi") is True,
        version=version if isinstance(version, int) else None,
        choices=tuple(choices) if isinstance(choices, list) else None,
        min=number("min"),
        max=number("max"),
        default=data.get("default"),
        secret=data.get("secret") is True,
        deprecated_names=tuple(
            (str(d["section"]), str(d["name"])) for d in deprecated if isinstance(d, dict)
        )
        if isinstance(deprecated, list)
        else (),
        deprecated_for_removal=data.get("deprecated_for_removal") is True,
        deprecated_reason=text("deprecated_reason"),
        deprecated_since=text("deprecated_since"),
        auth_plugins=strings("auth_plugins"),
    )


def _sections(raw: object) -> Mapping[str, Section]:
    if not isinstance(raw, dict):
        raise ValueError("'sections' must be an object")
    return MappingProxyType(
        {
            section: MappingProxyType(
                {name: _option_spec(section, name, spec) for name, spec in options.items()}
            )
            for section, options in raw.items()
        }
    )


@functools.lru_cache(maxsize=64)
def _read_catalogue(path: Path) -> Catalogue:
    """Parse one catalogue file; cached by path, the result is read-only."""
    data = json.loads(path.read_text(encoding="utf-8"))
    sections = _sections(data["sections"])
    backend: BackendSections | None = None
    if "backend_sections" in data:
        raw = data["backend_sections"]
        backend = BackendSections(
            declared_by=(raw["declared_by"]["section"], raw["declared_by"]["option"]),
            reserved=MappingProxyType(dict(raw["reserved"])),
            templates=_sections(raw["templates"]),
        )
    renamed: dict[tuple[str, str], OptionSpec] = {}
    for options in sections.values():
        for spec in options.values():
            for old in spec.deprecated_names:
                renamed.setdefault(old, spec)
    return Catalogue(
        release=str(data["release"]),
        file=str(data["file"]),
        sections=sections,
        backend_sections=backend,
        renamed=MappingProxyType(renamed),
    )


def known_releases(schemas_dir: Path) -> list[str]:
    """The releases that have catalogues under ``schemas_dir`` (``schemas/openstack``)."""
    if not schemas_dir.is_dir():
        return []
    return sorted(p.name for p in schemas_dir.iterdir() if p.is_dir() and any(p.glob("*.json")))


def load_catalogue(schemas_dir: Path, release: str, file_name: str) -> Catalogue | None:
    """The catalogue of ``file_name`` (e.g. ``keystone.conf``) in ``release``, or None if there is none."""
    if "/" in file_name or "/" in release or file_name.startswith("."):
        return None
    path = schemas_dir / release / f"{file_name}.json"
    if file_name == "manifest" or not path.is_file():
        return None
    return _read_catalogue(path.resolve())


def _oslo_section(section: str) -> str:
    """Section name as oslo.config looks it up: DEFAULT exactly, every other name lower-cased."""
    return section if section == DEFAULT_SECTION else section.lower()


def _is_template(value: object) -> bool:
    """A value oslo.config interpolates (``$opt``, ``${opt}``) or a template filled in later."""
    return isinstance(value, str) and ("$" in value or "{{" in value)


def _is_multistring(value: object) -> bool:
    """The ``{"type": "multistring", "values": [...]}`` form of a multi-valued option."""
    return isinstance(value, Mapping) and value.get("type") == "multistring" and "values" in value


def _declared_backends(catalogue: Catalogue, conf_file: ConfFile) -> dict[str, str | None] | None:
    """Backend section (lower-cased) -> store type; None when the declaration cannot be read."""
    backend = catalogue.backend_sections
    if backend is None:
        return {}
    declared: dict[str, str | None] = {_oslo_section(k): v for k, v in backend.reserved.items()}
    section, option = backend.declared_by
    value = conf_file.get(section, {}).get(option)
    if value is None:
        return declared
    if _is_template(value):
        return None
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
        pairs = [(k.strip(), v.strip()) for k, _, v in (item.partition(":") for item in items)]
    else:
        return None
    for name, store_type in pairs:
        declared[_oslo_section(name)] = store_type
    return declared


def _section_options(
    catalogue: Catalogue, section: str, backends: dict[str, str | None] | None
) -> Section | None:
    """The options a written section may hold, or None when the release has no such section."""
    static = catalogue.sections.get(_oslo_section(section))
    if static is not None:
        return static
    backend = catalogue.backend_sections
    if backend is None or section.lower() == "default":
        return None
    if backends is None:
        return backend.options_for(None)
    key = _oslo_section(section)
    if key in backends:
        return backend.options_for(backends[key])
    return None


def _find(
    catalogue: Catalogue, section: str, option: str, backends: dict[str, str | None] | None
) -> _Found | None:
    """Find an option set as ``[section] option``, by its current or a deprecated name."""
    options = _section_options(catalogue, section, backends)
    if options is not None and option in options:
        return _Found(options[option], via_deprecated_name=False)
    replacement = catalogue.renamed.get((_oslo_section(section), option))
    if replacement is not None:
        return _Found(replacement, via_deprecated_name=True)
    return None


def _is_known_section(catalogue: Catalogue, section: str, backends: dict[str, str | None] | None) -> bool:
    """True when the release reads the section, or once read it (a deprecated section name)."""
    if _section_options(catalogue, section, backends) is not None:
        return True
    return any(old_section == _oslo_section(section) for old_section, _ in catalogue.renamed)


def _suggest(word: str, candidates: Sequence[str]) -> str:
    """`` did you mean 'x'?`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _show(value: object, spec: OptionSpec) -> str:
    return "<secret>" if spec.secret else repr(value)


def _is_hostname(value: str, label: re.Pattern[str]) -> bool:
    if not value or len(value) > 253:
        return False
    labels = value.removesuffix(".").split(".")
    return bool(re.search("[a-zA-Z-]", labels[-1])) and all(label.match(x) for x in labels)


def _is_ip(value: str, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or address.version == version


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _scalar_text(value: object) -> str:
    """A YAML scalar as it ends up in the INI file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_error(type_name: str, value: object, spec: OptionSpec) -> str | None:
    """Why ``value`` is not a valid single value of ``type_name`` for ``spec``, or None."""
    if value is None or _is_template(value):
        return None
    shown = _show(value, spec)
    if isinstance(value, (list, Mapping)) and type_name not in ("list", "dict"):
        return f"expected a {type_name} value, got a {'list' if isinstance(value, list) else 'mapping'}"
    number: int | float | None = None
    if type_name in ("integer", "port"):
        number = _as_int(value)
        if number is None:
            return f"expected an integer, got {shown}"
    elif type_name == "float":
        number = _as_float(value)
        if number is None:
            return f"expected a number, got {shown}"
    elif type_name == "boolean":
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return None
        if not (isinstance(value, str) and value.strip().lower() in TRUE_STRINGS | FALSE_STRINGS):
            return f"expected a boolean (true/false, yes/no, on/off, 1/0), got {shown}"
        return None
    elif type_name == "list":
        return _list_error(value, spec)
    elif type_name == "dict":
        return _dict_error(value, spec)
    elif type_name in ("uri", "hostaddress", "hostdomain", "hostname", "ipaddress", "range"):
        text = _scalar_text(value).strip()
        if not _has_form(type_name, text, spec.version):
            return f"expected {_FORMS[type_name]}, got {shown}"
    if number is not None:
        if spec.min is not None and number < spec.min:
            return f"{shown} is below the minimum {spec.min}"
        if spec.max is not None and number > spec.max:
            return f"{shown} is above the maximum {spec.max}"
    if spec.choices:
        candidate: object = number if number is not None else _scalar_text(value)
        allowed = [c for c in spec.choices if c is not None]
        if candidate not in allowed and str(candidate) not in [str(c) for c in allowed]:
            listed = ", ".join(str(c) for c in allowed)
            return f"{shown} is not one of: {listed}"
    return None


_FORMS = {
    "uri": "a URI with a scheme and a host",
    "hostaddress": "an IP address or a host name",
    "hostdomain": "an IP address or a domain name",
    "hostname": "a host name",
    "ipaddress": "an IP address",
    "range": "a range like 'min:max'",
}


def _has_form(type_name: str, text: str, version: int | None) -> bool:
    if type_name == "uri":
        try:
            parts = urlsplit(text)
            return bool(_URI_SCHEME.match(parts.scheme) and parts.hostname)
        except ValueError:
            return False
    if type_name == "hostaddress":
        return _is_ip(text) or _is_hostname(text, _HOSTNAME_LABEL)
    if type_name == "hostdomain":
        return _is_ip(text) or _is_hostname(text, _DOMAIN_LABEL)
    if type_name == "hostname":
        return _is_hostname(text, _HOSTNAME_LABEL)
    if type_name == "ipaddress":
        return _is_ip(text, version)
    return bool(_RANGE.match(text))


def _item_error(item: object, spec: OptionSpec) -> str | None:
    if spec.item_type is None or spec.item_type in ("string", "unknown", "dict"):
        if isinstance(item, (list, Mapping)) and spec.item_type != "dict":
            return "expected a list of plain values"
        return None
    return _value_error(spec.item_type, item, _item_spec(spec))


def _item_spec(spec: OptionSpec) -> OptionSpec:
    """The spec items of a list or dict are checked against: the item type, no bounds."""
    return OptionSpec(section=spec.section, name=spec.name, type=spec.item_type or "string", secret=spec.secret)


def _list_error(value: object, spec: OptionSpec) -> str | None:
    if isinstance(value, Mapping):
        return "expected a list or a comma-separated string, got a mapping"
    items: list[object] = list(value) if isinstance(value, list) else list(_scalar_text(value).split(","))
    for item in items:
        if isinstance(item, str) and spec.item_type not in (None, "string", "unknown", "dict"):
            item = item.strip()
        problem = _item_error(item, spec)
        if problem is not None:
            return f"list item: {problem}"
    return None


def _dict_error(value: object, spec: OptionSpec) -> str | None:
    if isinstance(value, list):
        return "expected a mapping or 'key:value,...', got a list"
    if isinstance(value, Mapping):
        entries: list[object] = list(value.values())
    else:
        pairs = [p for p in _scalar_text(value).split(",") if p.strip()]
        if any(":" not in p for p in pairs):
            return f"expected 'key:value,...', got {_show(value, spec)}"
        entries = [p.partition(":")[2].strip() for p in pairs]
    for entry in entries:
        problem = _item_error(entry, spec)
        if problem is not None:
            return f"dict value: {problem}"
    return None


def value_error(spec: OptionSpec, value: object) -> str | None:
    """Why ``value`` cannot be given to the option, or None when it can (or cannot be known yet)."""
    if _is_multistring(value):
        if not spec.is_multi:
            return "not a multi-valued option; give one value, not a multistring"
        assert isinstance(value, Mapping)
        values = value.get("values")
        if not isinstance(values, list):
            return "a multistring needs a list under 'values'"
        items: list[object] = values
    elif spec.is_multi:
        items = list(value) if isinstance(value, list) else [value]
    else:
        return _value_error(spec.type, value, spec)
    item_type = "string" if spec.type == "multistring" else spec.type
    for item in items:
        problem = _value_error(item_type, item, spec)
        if problem is not None:
            return problem
    return None


def _at(locate: Locate, key: tuple[str, ...], severity_error: bool, message: str) -> Problem:
    location = locate(key)
    make = error if severity_error else warning
    return make(location.path, location.line, location.col, message)


def _deprecation(spec: OptionSpec) -> str | None:
    """How the option is deprecated, or None when it is not.

    oslo.config only warns for ``deprecated_for_removal``; a project that gives
    a reason or a release without that flag (glance's eventlet options in
    2026.1, removed in 2026.2) has deprecated the option all the same.
    """
    if not (spec.deprecated_for_removal or spec.deprecated_reason or spec.deprecated_since):
        return None
    kind = "deprecated for removal" if spec.deprecated_for_removal else "deprecated"
    since = f" since {spec.deprecated_since}" if spec.deprecated_since else ""
    reason = f": {spec.deprecated_reason}" if spec.deprecated_reason else ""
    return f"{kind}{since}{reason}"


def _check_file(
    catalogue: Catalogue, file_name: str, conf_file: ConfFile, locate: Locate
) -> Iterator[Problem]:
    backends = _declared_backends(catalogue, conf_file)
    release = catalogue.release
    for section, options in conf_file.items():
        if not _is_known_section(catalogue, section, backends):
            if catalogue.backend_sections is not None and backends and _oslo_section(section) in backends:
                store_types = ", ".join(catalogue.backend_sections.store_types())
                yield _at(
                    locate, (file_name, section), True,
                    f"{file_name} [{section}]: the backend's store type "
                    f"'{backends[_oslo_section(section)]}' is none of: {store_types}",
                )
                continue
            names = [*catalogue.sections, *(backends or {})]
            if section.lower() == "default":
                hint = "; did you mean 'DEFAULT'? (only the exact name DEFAULT is the default section)"
            else:
                hint = _suggest(_oslo_section(section), names)
                if not hint and catalogue.backend_sections is not None:
                    declared = "[{}] {}".format(*catalogue.backend_sections.declared_by)
                    hint = f"; a backend section must be declared in {declared}"
            message = f"{file_name}: unknown section [{section}] in {release}{hint}"
            yield _at(locate, (file_name, section), True, message)
            continue
        known = _section_options(catalogue, section, backends) or {}
        for option, value in options.items():
            key = (file_name, section, option)
            found = _find(catalogue, section, option, backends)
            if found is None:
                hint = _suggest(option, list(known))
                if not hint:
                    elsewhere = sorted(s for s, opts in catalogue.sections.items() if option in opts)
                    if elsewhere:
                        hint = f"; it is an option of [{elsewhere[0]}]"
                yield _at(locate, key, True, f"{file_name} [{section}]: unknown option '{option}' in {release}{hint}")
                continue
            spec = found.spec
            if found.via_deprecated_name:
                yield _at(
                    locate, key, False,
                    f"{file_name} [{section}] {option} is a deprecated name; use {spec.label} instead",
                )
            deprecation = _deprecation(spec)
            if deprecation is not None:
                yield _at(locate, key, False, f"{file_name} [{section}] {option} is {deprecation}")
            problem = value_error(spec, value)
            if problem is not None:
                yield _at(locate, key, True, f"{file_name} [{section}] {option}: {problem}")


def _require_release(schemas_dir: Path, release: str) -> None:
    if release not in known_releases(schemas_dir):
        known = ", ".join(known_releases(schemas_dir)) or "none"
        raise ValueError(f"no OpenStack option catalogues for release {release!r} in {schemas_dir} (known: {known})")


def check_conf(conf: Conf, release: str, schemas_dir: Path, locate: Locate) -> list[Problem]:
    """Check every option set in ``conf`` against the option catalogues of ``release``.

    ``conf`` maps a config file name (``keystone.conf``) to its sections and
    their options with the values as YAML gives them; a mapping
    ``{"type": "multistring", "values": [...]}`` sets a multi-valued option.
    ``locate`` returns the source location of a file, section or option key.

    Errors: unknown section or option (with the closest name as a hint), a value
    of the wrong type, out of range or not among the choices.  Warnings: an
    option set by a deprecated name (naming its replacement) or deprecated for
    removal.  Values oslo.config interpolates (``$state_path``) or that are
    filled in later (``${VAR}``, ``{{ x }}``) are not type-checked.  Files
    without a catalogue (``api-paste.ini``, ``policy.yaml``, Horizon's
    ``local_settings``) are skipped.  Raises ValueError for a release that has
    no catalogues at all.
    """
    _require_release(schemas_dir, release)
    problems: list[Problem] = []
    for file_name, conf_file in conf.items():
        catalogue = load_catalogue(schemas_dir, release, file_name)
        if catalogue is not None:
            problems.extend(_check_file(catalogue, file_name, conf_file, locate))
    return problems


def release_changes(
    conf: Conf, from_release: str, to_release: str, schemas_dir: Path, locate: Locate
) -> list[Problem]:
    """Warnings for options set in ``conf`` that upgrading ``from_release`` -> ``to_release`` affects.

    An option valid in ``from_release`` is reported when ``to_release``
    removed it, renamed it (the old name still works but is deprecated),
    deprecated it for removal, or no longer accepts its value.  Options that are
    unknown in ``from_release`` are left to :func:`check_conf`.
    """
    _require_release(schemas_dir, from_release)
    _require_release(schemas_dir, to_release)
    problems: list[Problem] = []
    for file_name, conf_file in conf.items():
        old = load_catalogue(schemas_dir, from_release, file_name)
        new = load_catalogue(schemas_dir, to_release, file_name)
        if old is None:
            continue
        if new is None:
            problems.append(
                _at(locate, (file_name,), False, f"{file_name} has no option catalogue in {to_release}")
            )
            continue
        problems.extend(_changes(old, new, file_name, conf_file, locate))
    return problems


def _changes(old: Catalogue, new: Catalogue, file_name: str, conf_file: ConfFile, locate: Locate) -> Iterator[Problem]:
    old_backends = _declared_backends(old, conf_file)
    new_backends = _declared_backends(new, conf_file)
    to = new.release
    for section, options in conf_file.items():
        for option, value in options.items():
            before = _find(old, section, option, old_backends)
            if before is None:
                continue
            key = (file_name, section, option)
            where = f"{file_name} [{section}] {option}"
            after = _find(new, section, option, new_backends)
            if after is None:
                was = " without deprecation" if _deprecation(before.spec) is None else ""
                yield _at(locate, key, False, f"{where} is removed in {to}{was}")
                continue
            if after.via_deprecated_name and not before.via_deprecated_name:
                yield _at(locate, key, False, f"{where} is renamed in {to}; use {after.spec.label} instead")
            deprecation = _deprecation(after.spec)
            if deprecation is not None and _deprecation(before.spec) is None:
                yield _at(locate, key, False, f"{where} is {deprecation} in {to}")
            problem = value_error(after.spec, value)
            if problem is not None and value_error(before.spec, value) is None:
                yield _at(locate, key, False, f"{where}: value no longer valid in {to}: {problem}")
