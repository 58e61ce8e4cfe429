"""OpenStack option catalogues: the typed options of each config file of a release, loaded from schemas/openstack."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from ccp_gitops.model.problems import Location

ConfFile = Mapping[str, Mapping[str, object]]
Conf = Mapping[str, ConfFile]
Locate = Callable[[tuple[str, ...]], Location]

DEFAULT_SECTION = "DEFAULT"
# oslo.config's types.Boolean accepts these, case-insensitively.
TRUE_STRINGS = frozenset({"true", "1", "on", "yes"})
FALSE_STRINGS = frozenset({"false", "0", "off", "no"})


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
