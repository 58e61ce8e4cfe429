"""``ccp-gitops bundle``: write one compiled environment as a reproducible Flux OCI artifact (an OCI image layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli import args
from ccp_gitops.cli.common import REPO_HELP, repo_dir

HELP = """Write one environment of the env repo as a Flux OCI artifact: an OCI image layout in DIR.

The artifact is what `flux push artifact` makes: one tar+gzip layer holding env/ENV/ (the same
paths as in git, so Kustomization paths do not change) with the Flux media types and the
source, revision and created annotations. The same commit gives the same digest on any machine.
The layer digest must match the one `compile` recorded in the environment's lock file.

ENV is env/prod, overlays/prod or prod.

Example: ccp-gitops bundle env/prod --repo ../openstack-env --output build/prod-oci

Then push it: skopeo copy oci:build/prod-oci:TAG docker://registry.example.com/openstack-env:TAG
"""


def bundle_command(
    env: str = typer.Argument(..., metavar="ENV", help="Environment to bundle: env/prod, overlays/prod or prod.", show_default=False),
    output: Path = typer.Option(..., "--output", "-o", help="New or empty directory for the OCI image layout."),
    repo: Optional[Path] = typer.Option(None, "--repo", help=REPO_HELP, callback=args.repo_path),
    rev: Optional[str] = typer.Option(None, "--rev", help="Env repo revision (branch, tag or commit). Default: the branch HEAD names."),
    tag: Optional[str] = typer.Option(None, "--tag", help="Tag in the layout's index. Default: ENV-<12 hex of the commit>."),
    source: Optional[str] = typer.Option(None, "--source", help="org.opencontainers.image.source. Default: the delivery repo URL in the lock."),
) -> None:
    from ccp_gitops.oci.bundle import run_bundle

    result = run_bundle(repo_dir(repo), env, rev, output, tag, source)
    check = "matches the lock" if result.verified else "not checked: the lock records no bundle (compiled before bundles)"
    typer.echo(f"env/{result.env} at {result.revision}: wrote {output}")
    typer.echo(f"  tag:      {result.tag}")
    typer.echo(f"  digest:   {result.digest}")
    typer.echo(f"  layer:    {result.layer.digest} ({check})")
    typer.echo(f"  created:  {result.created}")
    typer.echo(f"  push:     skopeo copy oci:{output}:{result.tag} docker://REGISTRY/REPOSITORY:{result.tag}")
