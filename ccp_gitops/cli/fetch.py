"""``ccp-gitops fetch``: fetch the components a site takes from other git repositories into the local cache."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli.common import SOURCE_HELP, source_dir
from ccp_gitops.cli.output import FORMAT_HELP, TextOrJson, echo_json

HELP = """Fetch the sources of a site repository (ccp-gitops.yaml sources:) into the local cache.

Each source is a git repository pinned by tag or commit; a branch is refused. The cache is
$CCP_CACHE (default ~/.cache/ccp-gitops): a bare clone per repository and the files of each
commit used. compile, validate and explain fetch what is missing on demand; once fetched they
work offline. Run fetch ahead of time, e.g. in CI before going offline.

Example: ccp-gitops fetch

Example: ccp-gitops fetch --source ../my-site --format json
"""


def fetch_command(
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", help=FORMAT_HELP),
) -> None:
    from ccp_gitops.model.problems import InputError, error
    from ccp_gitops.source.fetch import fetch_all
    from ccp_gitops.source.inputs import SITE_FILE
    from ccp_gitops.source.tree import load_site

    root = source_dir(source).resolve()

    if not (root / "overlays").is_dir():
        raise InputError([error(str(root), 1, 1, "not a ccp-gitops source: no overlays/ folder")])
    site = load_site(root)
    fetched = fetch_all(site, root) if site is not None else []
    if output_format is TextOrJson.json:
        echo_json({"sources": [{"name": s.name, **s.lock_entry(), "path": s.path, "tree": str(s.tree), "fetched": s.fetched} for s in fetched]})
        return
    if not fetched:
        typer.echo(f"{root}: no sources in {SITE_FILE}")
    for s in fetched:
        state = "fetched" if s.fetched else "cached"
        typer.echo(f"{s.name}: {s.git} {s.ref} -> {s.commit[:12]} ({state}: {s.tree})")
