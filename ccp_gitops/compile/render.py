"""Render stage: sandboxed Jinja2 renders config files and manifests; values never become YAML structure.

The Jinja2 side (environments, filters, errors) is ``template_env``, imported on the first render
that the disk cache cannot answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Iterator

import yaml

from ccp_gitops.cache.disk import Cache
from ccp_gitops.cache.disk import digest as content_digest
from ccp_gitops.cache.memo import Memo
from ccp_gitops.compile.emit import load_all
from ccp_gitops.model.environment import ComponentValues, Environment
from ccp_gitops.model.problems import InputError, Problem
from ccp_gitops.source.tree import Component, Source

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

    from jinja2 import BytecodeCache
    from jinja2.sandbox import SandboxedEnvironment


@dataclass(frozen=True)
class RenderedManifest:
    """The YAML text one manifest template produced (and its documents, once parsed)."""

    template: str
    text: str
    documents: list[Any] | None = field(default=None, compare=False)


@dataclass
class Rendered:
    """Everything one component rendered: config files and manifest texts.

    ``reads`` names what the templates used: the keys of ``replicas`` and ``images`` they read,
    and (``files``) the config files they put in a ConfigMap.
    """

    component: str
    files: dict[str, str]
    manifests: list[RenderedManifest]
    reads: dict[str, frozenset[str]] = field(default_factory=dict)


class EnvView(SimpleNamespace):
    """The ``env`` of a render's context; notes whether a template read ``env.upgrade``.

    A render that never read it is the same whatever the upgrade phase: the phases of a release
    upgrade reuse it instead of rendering the component again (``Renderer.render_cached``).
    """

    __slots__ = ("_upgrade_read",)  # a slot, not in vars(): context_key digests vars(env)

    def __getattribute__(self, name: str) -> Any:
        if name == "upgrade":
            object.__setattr__(self, "_upgrade_read", True)
        return super().__getattribute__(name)

    def upgrade_read(self) -> bool:
        return bool(getattr(self, "_upgrade_read", False))


UPGRADE_READ = frozenset({"upgrade"})  # Rendered.reads["env"] of a render that read env.upgrade


class ReadTracker(dict[str, Any]):
    """A mapping that notes every key a template reads (listing or testing keys reads them too)."""

    def __init__(self, data: dict[str, Any], reads: set[str]) -> None:
        super().__init__(data)
        self._reads = reads  # private: the sandbox refuses attributes starting with '_'

    def __getitem__(self, key: str) -> Any:
        self._reads.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._reads.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._reads.add(key)
        return super().__contains__(key)

    def _all(self) -> None:
        self._reads.update(super().keys())

    def __iter__(self) -> Iterator[str]:
        self._all()
        return super().__iter__()

    def keys(self) -> dict_keys[str, Any]:
        self._all()
        return super().keys()

    def values(self) -> dict_values[str, Any]:
        self._all()
        return super().values()

    def items(self) -> dict_items[str, Any]:
        self._all()
        return super().items()


def source_templates(source: Source) -> dict[str, str]:
    """Every template a render can load by name: macros, and the templates and files of every component."""
    templates = {t.name: t.text for t in source.macros}
    for comp in source.components.values():
        templates.update({t.name: t.text for t in comp.templates})
        templates.update({t.name: t.text for t in comp.files})
    return templates


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
        from ccp_gitops.cache.render_cache import DiskBytecodeCache

        return DiskBytecodeCache(self.cache, flavour) if self.cache is not None else None

    @cached_property
    def manifest_env(self) -> SandboxedEnvironment:
        from ccp_gitops.compile.template_env import manifest_environment

        return manifest_environment(self.templates, self._bytecode("manifest"))

    @cached_property
    def file_env(self) -> SandboxedEnvironment:
        from ccp_gitops.compile.template_env import file_environment

        return file_environment(self.templates, self._bytecode("file"))

    def context_key(self, env: Environment, comp: ComponentValues, upgrade: bool = True) -> str:
        """Digest of everything a render of ``comp`` can read: the templates and the context's data
        (``upgrade=False``: as if no release upgrade were under way)."""
        context = self.context(env, comp)
        env_data = vars(context["env"]) if upgrade else {**vars(context["env"]), "upgrade": None}
        data = [env_data, *(context[k] for k in ("component", "replicas", "images", "conf", "values"))]
        return content_digest("render", self.templates_digest, comp.name, repr(data))

    def context(self, env: Environment, comp: ComponentValues) -> dict[str, Any]:
        features = list(env.settings.get("features", []))
        enabled = list(env.components)
        return {
            # a namespace, not a dict: ``env.values`` must not find dict.values
            "env": EnvView(
                name=env.name,
                namespace=env.namespace,
                release=env.release,
                image_facts=dict(env.image_facts),
                region=env.settings.get("region", "RegionOne"),
                kubernetes_version=env.settings.get("kubernetes_version"),
                features=features,
                labels=dict(env.settings.get("labels", {})),
                values=env.settings.get("values", {}),
                components=enabled,
                # every enabled component's replica counts: a client lists every server it hashes over
                component_replicas={c.name: dict(c.values["replicas"]) for c in env.components.values()},
                upgrade=env.upgrade,
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
        from ccp_gitops.compile.template_env import oslo_ini, pick, render_template

        component: Component = self.source.components[comp.name]
        context = self.context(env, comp)
        reads: dict[str, set[str]] = {"replicas": set(), "images": set(), "files": set()}
        context["replicas"] = ReadTracker(context["replicas"], reads["replicas"])
        context["images"] = ReadTracker(context["images"], reads["images"])
        problems: list[Problem] = []
        files: dict[str, str] = {}
        for tmpl in component.files:
            name = tmpl.name.rsplit("/", 1)[-1][: -len(".j2")]
            text = render_template(self.file_env, tmpl.name, context, problems)
            if text is not None:
                files[name] = text
        for name, sections in comp.values["conf"].items():
            if name not in files:
                files[name] = oslo_ini(sections)
        if problems:  # the manifests would only repeat these as missing files
            raise InputError(problems)
        files = dict(sorted(files.items()))
        context["files"] = files
        context["configmap_data"] = lambda names: pick(files, names, comp.name, reads["files"])
        manifests = []
        for tmpl in component.templates:
            text = render_template(self.manifest_env, tmpl.name, context, problems)
            if text is not None:
                manifests.append(RenderedManifest(tmpl.name, text))
        if problems:
            raise InputError(problems)
        kept = {kind: frozenset(keys) for kind, keys in reads.items()}
        kept["env"] = UPGRADE_READ if context["env"].upgrade_read() else frozenset()
        return Rendered(comp.name, files, manifests, kept)

    def render_cached(self, env: Environment, comp: ComponentValues, memo: Memo) -> Rendered:
        """``render``, with each manifest's documents parsed; from the disk cache when the same inputs rendered
        before, or (in a release upgrade's phase) when the same inputs but the upgrade rendered what never read it."""
        key = self.context_key(env, comp)
        cache = memo.cache
        found = cache.load("render", key) if cache is not None else None
        if isinstance(found, Rendered):
            return found
        if cache is not None and env.upgrade is not None:
            found = cache.load("render", self.context_key(env, comp, upgrade=False))
            if isinstance(found, Rendered) and "upgrade" not in found.reads.get("env", UPGRADE_READ):
                return found
        rendered = self.render(env, comp)
        try:
            parsed = [RenderedManifest(m.template, m.text, memo.documents(m.text, load_all)) for m in rendered.manifests]
        except yaml.YAMLError:
            return rendered  # assemble reports it, with the template's location
        rendered = Rendered(rendered.component, rendered.files, parsed, rendered.reads)
        if cache is not None:
            cache.store("render", key, rendered)
            if env.upgrade is not None and "upgrade" not in rendered.reads["env"]:
                cache.store("render", self.context_key(env, comp, upgrade=False), rendered)
        return rendered
