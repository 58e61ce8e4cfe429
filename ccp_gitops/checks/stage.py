"""Check stage: OpenStack options against the real option catalogues; objects against Kubernetes and CRD schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ccp_gitops.cache.disk import Cache, digest
from ccp_gitops.cache.fingerprint import tree_digest
from ccp_gitops.cache.memo import Memo
from ccp_gitops.checks.k8s.catalogue import UnsupportedKubernetesVersion, resolve_version
from ccp_gitops.checks.openstack.options import check_conf, known_releases, load_catalogue, release_changes
from ccp_gitops.model.environment import ComponentValues, Environment
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import Location, Problem, Severity, warning
from ccp_gitops.source.catalogue import SCHEMA_DIR
from ccp_gitops.source.inputs import CRDS_ENV

if TYPE_CHECKING:
    from ccp_gitops.checks.k8s.schema import SchemaChecker

@dataclass
class Checkers:
    """Schema checkers built once per Kubernetes version and shared by every environment."""

    crd_dirs: list[Path]
    cache: Cache | None = None
    by_version: dict[str, SchemaChecker] = field(default_factory=dict)

    def get(self, version: str) -> SchemaChecker:
        from ccp_gitops.checks.k8s.schema import SchemaChecker  # jsonschema: only when an object is not known valid

        if version not in self.by_version:
            self.by_version[version] = SchemaChecker(version, self.crd_dirs, self.cache)
        return self.by_version[version]

    @cached_property
    def crd_digest(self) -> str:
        return tree_digest(self.crd_dirs)

    def identity(self, version: str) -> str:
        """What a check result depends on besides the object: the schemas of ``version`` and the CRDs."""
        return digest("checker", resolve_version(version), self.crd_digest)


def _locator(comp: ComponentValues, fallback: Location) -> Callable[[tuple[str, ...]], Location]:
    def locate(path: tuple[str, ...]) -> Location:
        return comp.origin(("conf", *path)) or fallback

    return locate


def check_options(env: Environment, source_docs: dict[str, Location], schemas_dir: Path = SCHEMA_DIR / "openstack") -> list[Problem]:
    """Every OpenStack option set in component defaults and overlays, against the catalogue of the release.

    ``source_docs`` gives, per component, where to point when a value has no recorded origin.
    """
    if env.release not in known_releases(schemas_dir):
        where = env.settings_origins.get(("openstack_release",), [Location("base/defaults.yaml", 1, 1)])[-1]
        return [Problem(where, f"OpenStack options not checked: no option catalogue for release {env.release}", Severity.WARNING)]
    problems: list[Problem] = []
    for comp in env.components.values():
        problems.extend(check_conf(comp.values["conf"], env.release, schemas_dir, _locator(comp, source_docs[comp.name])))
    return problems


def _parse_ini(text: str) -> dict[str, dict[str, object]]:
    """section -> option -> value of a rendered INI file; a repeated option becomes a multistring."""
    sections: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    last: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        if raw[:1].isspace() and current is not None and last is not None:
            continue  # continuation of a multi-line value
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        if current is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        last = key.strip()
        old = current.get(last)
        if old is None:
            current[last] = value.strip()
        elif isinstance(old, dict):
            old["values"].append(value.strip())
        else:
            current[last] = {"type": "multistring", "values": [old, value.strip()]}
    return sections


def check_rendered_files(env: Environment, files: dict[str, dict[str, str]], templates: dict[str, dict[str, Location]], schemas_dir: Path = SCHEMA_DIR / "openstack") -> list[Problem]:
    """Options that templates compute (not set as values) in rendered config files, against the catalogue."""
    if env.release not in known_releases(schemas_dir):
        return []
    problems: list[Problem] = []
    for comp, rendered in files.items():
        declared = env.components[comp].values["conf"]
        for name, text in rendered.items():
            if load_catalogue(schemas_dir, env.release, name) is None:
                continue
            where = templates[comp].get(name, Location(f"components/{comp}", 1, 1))
            own = declared.get(name) or {}
            marker = Location("<declared>")

            def locate(path: tuple[str, ...], own: dict[str, dict[str, object]] = own, where: Location = where) -> Location:
                # values set in component defaults or overlays were checked with their own locations
                if len(path) == 3 and path[2] in (own.get(path[1]) or {}):
                    return marker
                return where

            found = check_conf({name: _parse_ini(text)}, env.release, schemas_dir, locate)
            problems.extend(p for p in found if p.location != marker)
    return problems


def upgrade_problems(
    env: Environment, from_release: str, source_docs: dict[str, Location], schemas_dir: Path = SCHEMA_DIR / "openstack"
) -> list[Problem]:
    """Options this environment sets that moving from ``from_release`` to its release removes or deprecates."""
    return [p for _, p in upgrade_problems_by_component(env, from_release, source_docs, schemas_dir)]


def upgrade_problems_by_component(
    env: Environment, from_release: str, source_docs: dict[str, Location], schemas_dir: Path = SCHEMA_DIR / "openstack"
) -> list[tuple[str, Problem]]:
    """``upgrade_problems`` with the component each one belongs to."""
    known = known_releases(schemas_dir)
    if from_release == env.release or from_release not in known or env.release not in known:
        return []
    out: list[tuple[str, Problem]] = []
    for comp in env.components.values():
        found = release_changes(comp.values["conf"], from_release, env.release, schemas_dir, _locator(comp, source_docs[comp.name]))
        out.extend((comp.name, p) for p in found)
    return out


def check_objects(env: Environment, objs: list[Obj], checkers: Checkers, memo: Memo | None = None) -> list[Problem]:
    """Strict schema problems of one environment's objects (custom kinds are warnings with no CRD folder).

    ``memo`` knows the results of objects checked before (by content): only new objects are checked.
    """
    memo = memo if memo is not None else Memo()
    version = str(env.settings.get("kubernetes_version", "1.33"))
    try:
        identity = checkers.identity(version)
    except UnsupportedKubernetesVersion as exc:
        where = env.settings_origins.get(("kubernetes_version",))
        location = where[-1] if where else None
        path, line, col = (location.path, location.line, location.col) if location else ("base/defaults.yaml", 1, 1)
        return [Problem(warning(path, line, col, "").location, str(exc))]
    problems: list[Problem] = list(memo.checker_notes(identity, lambda: checkers.get(version).crd_problems))
    unchecked: set[str] = set()
    for obj in objs:
        key = memo.key(obj.body, remember=True)
        found, messages = memo.checked_messages(identity, key)
        if not found:
            checker = checkers.get(version)
            api_version = str(obj.body.get("apiVersion", ""))
            if not checkers.crd_dirs and not checker.is_builtin(api_version, obj.id.kind):
                messages = None
            else:
                messages = tuple(p.message for p in checker.check(obj.body, obj.origin))
            memo.record_check(identity, key, messages)
        if messages is None:
            unchecked.add(f"{obj.id.kind}.{obj.id.group}")
        else:
            problems.extend(Problem(obj.origin, message) for message in messages)
    if unchecked:
        problems.append(
            warning(
                f"env/{env.name}", 1, 1,
                f"custom resources not validated ({', '.join(sorted(unchecked))}): give their CRDs with --crds DIR or ${CRDS_ENV}",
            )
        )
    return problems
