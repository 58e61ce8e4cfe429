"""Layout: place assembled objects into the env repo tree (component folders, kustomizations, README, lock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccp_gitops import __version__
from ccp_gitops.cache.disk import files_digest
from ccp_gitops.cache.memo import Emitter, Memo, emit_object
from ccp_gitops.compile.emit import dump_json
from ccp_gitops.compile.waves import mermaid_waves as _mermaid
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj
from ccp_gitops.oci.image import FLUX_CONTENT_MEDIA_TYPE, Blob, tar_gzip_layer
from ccp_gitops.source.inputs import LOCK_FILE as LOCK_FILE

README_FILE = "README.md"
KUSTOMIZATION = "kustomization.yaml"


@dataclass
class EnvTree:
    """The files of one compiled environment, keyed by path relative to the env repo root."""

    env: str
    files: dict[str, bytes] = field(default_factory=dict)
    lock: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return f"env/{self.env}"


def kustomization(resources: list[str], emit: Emitter = emit_object) -> bytes:
    return emit({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources})


def _file_name(obj: Obj, taken: set[str]) -> str:
    name = obj.id.file_name()
    if name in taken:
        name = f"{obj.id.kind.lower()}-{obj.id.namespace or 'cluster'}-{obj.id.name}.yaml"
    taken.add(name)
    return name


def component_files(env: Environment, objs: list[Obj], emit: Emitter = emit_object) -> dict[str, dict[str, bytes]]:
    """component -> file name -> bytes, one file per object plus a kustomization listing them."""
    out: dict[str, dict[str, bytes]] = {name: {} for name in env.components}
    taken: dict[str, set[str]] = {name: set() for name in env.components}
    for obj in sorted(objs, key=lambda o: (o.component, o.id)):
        out[obj.component][_file_name(obj, taken[obj.component])] = emit(obj.body)
    for name, files in out.items():
        files[KUSTOMIZATION] = kustomization(sorted(files), emit)
    return out


def build_tree(
    env: Environment,
    objs: list[Obj],
    input_digest: str,
    source_commit: str,
    extra: dict[str, bytes] | None = None,
    notes: str = "",
    sources: dict[str, Any] | None = None,
    memo: Memo | None = None,
    lock_extra: dict[str, Any] | None = None,
) -> EnvTree:
    """The whole env/<env>/ folder: components, aggregate kustomization, README and lock.

    ``extra`` adds files (path relative to the environment folder); ``notes`` is markdown for the README;
    ``memo`` reuses emitted objects and bundle layers of earlier compiles; ``lock_extra`` adds entries
    to the lock (a release upgrade's phase)."""
    emit = memo.emit if memo is not None else emit_object
    tree = EnvTree(env.name)
    per_component = component_files(env, objs, emit)
    components: dict[str, Any] = {}
    for name, comp in env.components.items():
        files = per_component[name]
        for file_name, data in files.items():
            tree.files[f"{tree.root}/{name}/{file_name}"] = data
        components[name] = {
            "version": comp.version,
            "wave": comp.wave,
            "depends_on": comp.depends_on,
            "images": dict(sorted(comp.values["images"].items())),
            "digest": files_digest(files),
        }
    tree.files[f"{tree.root}/{KUSTOMIZATION}"] = kustomization([f"{name}" for name in env.components], emit)
    for path, data in (extra or {}).items():
        tree.files[f"{tree.root}/{path}"] = data
    tree.lock = {
        "lock_version": 1,
        "environment": env.name,
        "overlays": env.chain,
        "compiler_version": __version__,
        "source_commit": source_commit,
        "input_digest": input_digest,
        "namespace": env.namespace,
        "openstack_release": env.release,
        "components": components,
        "tree_digest": files_digest(tree.files),
    }
    tree.lock.update(lock_extra or {})
    if sources:
        # components from other git repositories (ccp-gitops.yaml sources:): name -> git, ref, commit
        tree.lock["sources"] = sources
    tree.files[f"{tree.root}/{README_FILE}"] = readme(env, tree.lock, notes).encode()
    # Last: the bundle layer covers every other file of the folder, the README included.
    def layer() -> tuple[str, int]:
        blob = bundle_layer(tree.files, tree.root)
        return blob.digest, len(blob.data)

    content = {path: data for path, data in tree.files.items() if path != f"{tree.root}/{LOCK_FILE}"}
    tree.lock["bundle"] = bundle_record(memo.layer(content, layer) if memo is not None else layer(), env.delivery)
    tree.files[f"{tree.root}/{LOCK_FILE}"] = dump_json(tree.lock)
    return tree


def bundle_layer(files: dict[str, bytes], root: str) -> Blob:
    """The content layer of ``ccp-gitops bundle``: every file under ``root`` except the lock.

    The lock records this layer's digest, so it cannot be inside the layer (a file cannot hold
    the digest of an archive that contains it); the bundle carries the lock as its config blob.
    """
    lock = f"{root}/{LOCK_FILE}"
    content = {path: data for path, data in files.items() if path.startswith(root + "/") and path != lock}
    return tar_gzip_layer(content, FLUX_CONTENT_MEDIA_TYPE)


def bundle_record(layer: tuple[str, int], delivery: dict[str, Any]) -> dict[str, Any]:
    """The lock's ``bundle`` entry: the layer (digest, size) ``ccp-gitops bundle`` must produce from this
    folder, and the source URL and branch its annotations name (so they depend on the commit alone)."""
    return {
        "branch": str(delivery["branch"]),
        "layer": {"mediaType": FLUX_CONTENT_MEDIA_TYPE, "digest": layer[0], "size": layer[1]},
        "source": str(delivery["repo_url"]),
    }


def mermaid_waves(env: Environment) -> str:
    """A mermaid flowchart: one subgraph per wave, an edge per dependency."""
    return _mermaid(env.waves(), [(dep, c.name) for c in env.components.values() for dep in c.depends_on])


def _upgrade_line(lock: dict[str, Any]) -> str:
    """The README's note of a release upgrade in progress (or just completed)."""
    entry = lock.get("upgrade")
    if not isinstance(entry, dict):
        return ""
    return (f"\n- Release upgrade: `{entry['from']}` -> `{entry['to']}`, phase {entry['phase']} ({entry['phase_name']}),"
            f" online data migrations {entry['online_migrations']} (docs/upgrades.md)")


def readme(env: Environment, lock: dict[str, Any], notes: str = "") -> str:
    """The generated README of one environment folder."""
    rows = []
    for name, comp in lock["components"].items():
        images = "<br>".join(f"`{c}`: `{ref}`" for c, ref in comp["images"].items()) or "-"
        deps = ", ".join(comp["depends_on"]) or "-"
        rows.append(f"| {name} | {comp['version']} | {comp['wave']} | {deps} | {images} |")
    chain = " -> ".join(env.chain)
    return f"""# Environment `{env.name}`

Generated by ccp-gitops {lock['compiler_version']} — do not edit; change the source and recompile.

- Source commit: `{lock['source_commit']}`
- Overlays: {chain}
- Namespace: `{env.namespace}`
- OpenStack release: `{env.release}`{_upgrade_line(lock)}
- Input digest: `{lock['input_digest'][:16]}`

## Components

| component | version | wave | depends on | images |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

## Waves

A component is applied after every component it depends on (Argo CD sync waves, Flux `dependsOn`).

```mermaid
{mermaid_waves(env)}
```
{chr(10) + notes.strip() + chr(10) if notes.strip() else ""}
## Reproduce

```sh
git -C <source> checkout {lock['source_commit'].removesuffix('-dirty')}
pip install ccp-gitops=={lock['compiler_version']}
ccp-gitops compile env/{env.name} --source <source> --repo <this repo>
```

The lock file `{LOCK_FILE}` records the per-component versions and content digests.
"""
