"""Scaffold: a new site repository that owns its overlays and layers them over the bundled catalogue."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ccp_gitops import __version__
from ccp_gitops.model.problems import InputError, error
from ccp_gitops.source import scaffold_text as text
from ccp_gitops.source.catalogue import SCHEMA_DIR
from ccp_gitops.source.inputs import PACKAGE_CATALOGUE, SITE_FILE
from ccp_gitops.source.tree import Source, load_source

EXAMPLE = "example"
STARTER = "keystone"  # the example enables it and what it depends on
EDITOR_SCHEMAS = ("site", "env", "component", "defaults")
HOOK_FILES = r"^(overlays/|components/|base/|ccp-gitops\.yaml$)"
_SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=.*\n", re.MULTILINE)


@dataclass(frozen=True)
class Written:
    """What ``init`` did: the site folder and the files it wrote, relative to it."""

    site: Path
    files: tuple[str, ...]


def schema_files(schema_dir: Path = SCHEMA_DIR) -> dict[str, str]:
    """The editor schemas of the site: copies of the package's input-file schemas."""
    files = {f"{text.SCHEMAS}/{kind}.schema.json": (schema_dir / f"{kind}.schema.json").read_text(encoding="utf-8") for kind in EDITOR_SCHEMAS}
    files[f"{text.SCHEMAS}/README.md"] = text.SCHEMAS_README.format(version=__version__)
    return files


def _closure(catalogue: Source, name: str) -> list[str]:
    """``name`` and everything it depends on, transitively, in name order."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in catalogue.components:
            continue
        seen.add(current)
        todo.extend(catalogue.components[current].depends_on)
    return sorted(seen)


def example_env(catalogue: Source) -> str:
    """overlays/example/env.yaml: the starter component and its dependencies on, every other one listed."""
    starter = STARTER if STARTER in catalogue.components else next(
        (n for n, c in sorted(catalogue.components.items()) if not c.depends_on), ""
    )
    enabled = _closure(catalogue, starter) if starter else []
    others = []
    for name, comp in sorted(catalogue.components.items()):
        if name in enabled:
            continue
        needs = f"  # needs {', '.join(comp.depends_on)}" if comp.depends_on else ""
        others.append(f"#  {name}: {{}}{needs}")
    release = str(catalogue.bases[0].data.get("openstack_release", "")) if catalogue.bases else ""
    return text.EXAMPLE_ENV.format(
        header=text.ENV_HEADER.format(schemas=text.SCHEMAS),
        name=EXAMPLE,
        release=release,
        enabled="\n".join(f"  {n}: {{}}" for n in enabled) or "  {}",
        others=("# More components of the catalogue (enable what they need too):\n" + "\n".join(others) + "\n") if others else "",
    )


def catalogue_overlays(catalogue: Source) -> dict[str, str]:
    """The catalogue's overlays as starting points, their schema line pointing at the site's schemas."""
    out = {}
    for name, doc in sorted(catalogue.overlays.items()):
        path = Path(doc.path) if Path(doc.path).is_absolute() else catalogue.root / doc.path
        body = _SCHEMA_LINE.sub("", path.read_text(encoding="utf-8"))
        out[f"overlays/{name}/env.yaml"] = text.ENV_HEADER.format(schemas=text.SCHEMAS) + body
    return out


def site_files(name: str, from_catalogue: bool, catalogue_dir: Path = PACKAGE_CATALOGUE) -> dict[str, str]:
    """Every file of a new site repository, relative path -> text."""
    catalogue = load_source(catalogue_dir)
    hook = text.PRE_COMMIT_HOOK.format(files=HOOK_FILES)
    files = {
        SITE_FILE: text.SITE_YAML.format(schemas=text.SCHEMAS, description=json.dumps(f"OpenStack control plane: {name}", ensure_ascii=False)),
        f"overlays/{EXAMPLE}/env.yaml": example_env(catalogue),
        "README.md": text.README.format(title=name, version=__version__, example=EXAMPLE),
        ".pre-commit-hooks.yaml": text.PRE_COMMIT_HOOKS.format(hook=hook),
        ".pre-commit-config.yaml": text.PRE_COMMIT_CONFIG.format(version=__version__, hook=_indent(hook, 6)),
        ".github/workflows/ccp-gitops.yml": text.WORKFLOW,
        "requirements.txt": text.REQUIREMENTS.format(version=__version__),
        ".gitignore": text.GITIGNORE,
        **schema_files(),
    }
    if from_catalogue:
        for path, body in catalogue_overlays(catalogue).items():
            files.setdefault(path, body)
    return dict(sorted(files.items()))


def _indent(block: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in block.splitlines(keepends=True))


def _refuse(path: Path, message: str) -> InputError:
    return InputError([error(str(path), 1, 1, message)])


def init_site(dest: Path, from_catalogue: bool = False, catalogue_dir: Path = PACKAGE_CATALOGUE) -> Written:
    """Write a new site repository into ``dest``, which must be missing or empty."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise _refuse(dest, "exists and is not a directory; init writes a new site into a new or empty directory")
    if dest.is_dir():
        entries = sorted(os.listdir(dest))
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise _refuse(dest, f"directory is not empty ({shown}); init writes a new site into a new or empty directory")
    files = site_files(dest.resolve().name, from_catalogue, catalogue_dir)
    _write(dest, files)
    return Written(dest, tuple(files))


def update_schemas(site: Path) -> Written:
    """Refresh the editor schemas of an existing site after a ccp-gitops upgrade; return what changed."""
    if not (site / SITE_FILE).is_file():
        raise _refuse(site, f"not a ccp-gitops site repository: no {SITE_FILE}")
    files = schema_files()
    changed = {p: t for p, t in files.items() if not (site / p).is_file() or (site / p).read_text(encoding="utf-8") != t}
    _write(site, changed)
    return Written(site, tuple(sorted(changed)))


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, path)
