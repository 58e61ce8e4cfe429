"""``ccp-gitops validate``: run every check on environments and write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli.common import CRDS_HELP, JOBS_HELP, SOURCE_HELP, disk_cache, job_count, source_dir
from ccp_gitops.model.errors import UsageError

HELP = """Run every check on environments — schemas of the inputs, layering, templates, strict
Kubernetes and CRD schemas of every object, OpenStack options — and write nothing.

Example: ccp-gitops validate env/prod env/staging

Example: ccp-gitops validate --all --kustomize --format json
"""


def validate_command(
    envs: Optional[list[str]] = typer.Argument(None, metavar="ENV...", help="Environments to validate."),
    all_envs: bool = typer.Option(False, "--all", help="Validate every overlay of the source."),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    crds: Optional[list[Path]] = typer.Option(None, "--crds", help=CRDS_HELP),
    kustomize: bool = typer.Option(False, "--kustomize", help="Also build every rendered tree with kustomize."),
    output_format: str = typer.Option("text", "--format", help="text or json."),
    jobs: int = typer.Option(1, "--jobs", "-j", metavar="N", help=JOBS_HELP),
) -> None:
    from ccp_gitops.checks.validate_env import validate_envs
    from ccp_gitops.compile.spec import SessionSpec
    from ccp_gitops.source.inputs import overlay_names

    if output_format not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {output_format!r}")
    src = source_dir(source)
    names = list(envs or [])
    if all_envs:
        names += overlay_names(src)
    if not names:
        raise UsageError("name at least one environment (e.g. env/prod), or --all")
    report = validate_envs(SessionSpec(src, crds, True, None, disk_cache(), job_count(jobs)), names, kustomize)
    if output_format == "json":
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    for env in report["environments"]:
        for warning in env["warnings"]:
            typer.echo(warning, err=True)
        built = ", kustomize build ok" if kustomize else ""
        typer.echo(f"env/{env['name']}: ok ({env['objects']} objects, {len(env['components'])} components{built})")
