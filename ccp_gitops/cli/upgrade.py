"""``ccp-gitops upgrade``: an OpenStack release change as a staged promotion, one env-repo commit per phase."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli.common import CRDS_HELP, ENGINE_HELP, REPO_HELP, SOURCE_HELP, disk_cache, engines, repo_dir, source_dir
from ccp_gitops.model.errors import UsageError

HELP = """Upgrade an environment to another OpenStack release in five phases, each one commit that Argo CD and
Flux apply and wait for: 1 infrastructure, 2 schema expand while the old services run, 3 control plane
(compute RPC pinned), 4 computes and agents, 5 unpin, contract and online data migrations.

--to starts an upgrade (refused when the path is unsupported or the previous upgrade is unfinished);
--next moves to the next phase once the engines report the current one synced and healthy (after phase 5
it records the online data migrations completed); with neither, the current phase is compiled again.
--plan shows every phase (what it rolls and runs, its risks) and writes nothing. See docs/upgrades.md.

Example: ccp-gitops upgrade env/prod --to 2026.2 --plan

Example: ccp-gitops upgrade env/prod --to 2026.2

Example: ccp-gitops upgrade env/prod --next
"""


def upgrade_command(
    env: str = typer.Argument(..., metavar="ENV", help="Environment to upgrade."),
    to: Optional[str] = typer.Option(None, "--to", metavar="RELEASE", help="Start an upgrade to this OpenStack release (e.g. 2026.2)."),
    next_phase: bool = typer.Option(False, "--next", help="Advance to the next phase (after phase 5: complete)."),
    plan: bool = typer.Option(False, "--plan", help="With --to: print every phase; write nothing."),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    repo: Optional[Path] = typer.Option(None, "--repo", help=REPO_HELP),
    branch: Optional[str] = typer.Option(None, "--branch", help="Env repo branch. Default: the overlay's delivery.branch."),
    message: Optional[str] = typer.Option(None, "--message", "-m", help="Commit subject (default: the phase)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what the phase would change; write nothing."),
    crds: Optional[list[Path]] = typer.Option(None, "--crds", help=CRDS_HELP),
    engine: Optional[str] = typer.Option(None, "--engine", metavar="argocd|flux|both", help=ENGINE_HELP),
) -> None:
    from ccp_gitops.compile.spec import SessionSpec
    from ccp_gitops.upgrade.run import UpgradeRequest, plan_text, run_upgrade

    if to is not None and next_phase:
        raise UsageError("--to starts an upgrade, --next advances one: pass one of them")
    if plan and to is None:
        raise UsageError("--plan needs --to RELEASE")
    spec = SessionSpec(source_dir(source), crds, True, engines(engine), disk_cache())
    request = UpgradeRequest(env, to, next_phase, dry_run or plan, message)
    if plan:
        typer.echo(plan_text(spec, request, repo_dir(repo), branch), nl=False)
        return
    lines, warnings = run_upgrade(spec, request, repo_dir(repo), branch)
    for warning in warnings:
        typer.echo(warning, err=True)
    for line in lines:
        typer.echo(line)
