"""``ccp-gitops init``: scaffold a site repository that layers its own overlays over the bundled catalogue."""

from __future__ import annotations

from pathlib import Path

import typer

from ccp_gitops.cli.output import FORMAT_HELP, TextOrJson, echo_json

HELP = """Create a site repository in DIR (new or empty): the overlays you own, layered over the
catalogue shipped with ccp-gitops, so upgrading ccp-gitops upgrades the catalogue without copying it.

Writes ccp-gitops.yaml (catalogue: bundled), overlays/example/env.yaml, a README, a pre-commit
hook (ccp-gitops validate), a GitHub Actions workflow, requirements.txt pinning ccp-gitops, and
the JSON Schemas under .ccp-gitops/schemas/ that every file names for editors.

Example: ccp-gitops init my-site

Example: ccp-gitops init my-site --from-catalogue

Example: ccp-gitops init --update-schemas .
"""


def init_command(
    directory: Path = typer.Argument(..., metavar="DIR", help="New or empty directory for the site repository.", show_default=False),
    from_catalogue: bool = typer.Option(False, "--from-catalogue", help="Also copy the catalogue's overlays (dev, prod, ...) as starting points."),
    update_schemas: bool = typer.Option(False, "--update-schemas", help="Only refresh .ccp-gitops/schemas/ of the existing site in DIR (after an upgrade)."),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", help=FORMAT_HELP),
) -> None:
    from ccp_gitops.source.scaffold import init_site
    from ccp_gitops.source.scaffold import update_schemas as refresh

    written = refresh(directory) if update_schemas else init_site(directory, from_catalogue)
    if output_format is TextOrJson.json:
        echo_json({"site": str(written.site), "files": list(written.files)})
        return
    if update_schemas:
        typer.echo(f"{directory}: {len(written.files)} schema file(s) updated" if written.files else f"{directory}: schemas are up to date")
        for rel in written.files:
            typer.echo(f"  {rel}")
        return
    typer.echo(f"created site repository {directory} ({len(written.files)} files)")
    for rel in written.files:
        typer.echo(f"  {rel}")
    typer.echo("next:")
    typer.echo(f"  cd {directory} && git init")
    typer.echo("  ccp-gitops validate --all")
    typer.echo("  ccp-gitops explain example keystone")
