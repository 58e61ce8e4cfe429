"""``ccp-gitops compile``: render environments and commit them to the env repo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ccp_gitops.cli import args
from ccp_gitops.cli.common import (
    CRDS_HELP,
    ENGINE_HELP,
    JOBS_HELP,
    REPO_HELP,
    SOURCE_HELP,
    disk_cache,
    engines,
    job_count,
    progress_bar,
    repo_dir,
    source_dir,
)
from ccp_gitops.model.errors import UsageError

if TYPE_CHECKING:
    from ccp_gitops.repo.write import CompileReport

SHARD_RETRIES = 8  # shards that finish together land one after another; each retry only rewrites trees

HELP = """Render environments and commit them to the env repo (one commit, none when nothing changed).

ENV is env/prod, overlays/prod or prod.

Example: ccp-gitops compile env/prod --repo ../openstack-env

Example: ccp-gitops compile env/staging --branch review/bump-nova --dry-run

Example: ccp-gitops compile env/prod --engine both

Example: ccp-gitops compile --all --jobs 0

Example: ccp-gitops compile --all --shard 2/8   # one of 8 CI jobs (docs/sharding.md)

Parsed inputs, renders and checks are cached in $CCP_CACHE (default ~/.cache/ccp-gitops;
CCP_CACHE=off disables it): an unchanged environment is reported without being compiled.
"""


def compile_command(
    envs: Optional[list[str]] = typer.Argument(None, metavar="ENV...", help="Environments to compile."),
    all_envs: bool = typer.Option(False, "--all", help="Compile every overlay of the source."),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    repo: Optional[Path] = typer.Option(None, "--repo", help=REPO_HELP, callback=args.repo_path),
    branch: Optional[str] = typer.Option(None, "--branch", callback=args.branch, help="Env repo branch. Default: the overlay's delivery.branch. A new branch starts from that default branch."),
    message: Optional[str] = typer.Option(None, "--message", "-m", callback=args.message, help="Commit subject (default: a summary of what changed)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; write nothing."),
    crds: Optional[list[Path]] = typer.Option(None, "--crds", help=CRDS_HELP),
    engine: Optional[str] = typer.Option(None, "--engine", metavar="argocd|flux|both", help=ENGINE_HELP),
    jobs: int = typer.Option(1, "--jobs", "-j", metavar="N", help=JOBS_HELP),
    shard: Optional[str] = typer.Option(
        None, "--shard", metavar="K/N",
        help="Compile only shard K of N (a deterministic 1/N of the environments, by name); shards land "
        "through the same compare-and-swap, retried when another shard landed first.",
    ),
) -> None:
    from ccp_gitops.compile.spec import SessionSpec
    from ccp_gitops.repo.write import WriteOptions, run_compile
    from ccp_gitops.source.inputs import overlay_names

    chosen = engines(engine)
    names = list(envs or [])
    src = source_dir(source)
    if all_envs:
        names += overlay_names(src)
    if not names:
        raise UsageError("name at least one environment (e.g. env/prod), or --all")
    retries = 0
    if shard is not None:
        from ccp_gitops.compile.shard import parse_shard, select_shard

        try:
            k, n = parse_shard(shard)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        names = select_shard(list(dict.fromkeys(names)), k, n)
        retries = SHARD_RETRIES
        if not names:
            typer.echo(f"shard {k}/{n}: no environment falls in this shard")
            return
    spec = SessionSpec(src, crds, True, chosen, disk_cache(), job_count(jobs))
    with progress_bar(len(set(names)), "compiling") as progress:
        report = run_compile(spec, names, WriteOptions(repo_dir(repo), branch, message, dry_run, retries), progress)
    for warning in report.plan.warnings:
        typer.echo(warning, err=True)
    for line in report_lines(report):
        typer.echo(line)


def report_lines(report: CompileReport) -> list[str]:
    """What a compile did, one line per environment, then the commit (or why there is none)."""
    plan, lines = report.plan, []
    for outcome in plan.outcomes:
        if outcome.change is None:
            lines.append(f"env/{outcome.env}: unchanged ({outcome.objects} objects)")
        elif report.dry_run:
            lines.append(f"env/{outcome.env}: would {outcome.change.summary()}")
            for kind, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
                lines.extend(f"  {sign} {path}" for path in outcome.change.files[kind])
    if report.dry_run:
        return [*lines, "dry run: nothing was written"]
    if report.commit is None or plan.repo is None:
        return lines
    where = plan.repo.working_tree_dir or plan.repo.git_dir
    if plan.start_at is not None:
        return [*lines, f"created branch {plan.branch} at {plan.start_at[:12]} in {where}"]
    if report.commit.changed and report.commit.new:
        lines.extend(f"env/{o.env}: {o.change.summary()}" for o in plan.outcomes if o.change is not None)
        retried = report.commit.retried
        again = f" (landed on top of {retried} other commit{'s' if retried > 1 else ''})" if retried else ""
        return [*lines, f"committed {report.commit.new[:12]} on {plan.branch} in {where}{again}"]
    return [*lines, f"nothing to commit on {plan.branch} in {where}"]
