"""Typed OpenStack configuration: check config values against each release's real option catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from ccp_gitops.checks.openstack.catalogue import (
    DEFAULT_SECTION,
    Catalogue,
    Conf,
    ConfFile,
    Locate,
    OptionSpec,
    Section,
    known_releases,
    load_catalogue,
)
from ccp_gitops.checks.openstack.values import is_template, value_error
from ccp_gitops.model.problems import Problem, did_you_mean, error, warning

__all__ = ["Catalogue", "OptionSpec", "check_conf", "known_releases", "load_catalogue", "release_changes", "value_error"]


@dataclass(frozen=True)
class _Found:
    """An option set in a config: its spec and whether a deprecated name reached it."""

    spec: OptionSpec
    via_deprecated_name: bool



def _oslo_section(section: str) -> str:
    """Section name as oslo.config looks it up: DEFAULT exactly, every other name lower-cased."""
    return section if section == DEFAULT_SECTION else section.lower()


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
    if is_template(value):
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
                hint = did_you_mean(_oslo_section(section), names)
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
                hint = did_you_mean(option, known)
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
