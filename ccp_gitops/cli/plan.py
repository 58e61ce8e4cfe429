"""``ccp-gitops plan``: the order in which Argo CD and Flux apply an environment."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli import args
from ccp_gitops.cli.common import CRDS_HELP, ENGINE_HELP, SOURCE_HELP, disk_cache, engines, source_dir
from ccp_gitops.model.errors import UsageError

HELP = """Show the order in which Argo CD and Flux apply an environment: the component waves, and inside each
component the order of its objects (Argo CD: phase, wave, kind, name; Flux: dependsOn, then apply stages).

ENV is env/prod, overlays/prod or prod. The plan is of what `compile` would write now; with --repo, of what
is committed in the env repo.

Example: ccp-gitops plan env/prod

Example: ccp-gitops plan env/prod --engine flux --format json

Example: ccp-gitops plan env/prod --format mermaid

Example: ccp-gitops plan env/prod --to 2026.2   (the phases of a release upgrade, see `ccp-gitops upgrade`)
"""

FORMAT_NAMES = ("text", "json", "mermaid")


def _render(src: Path, env: str, chosen: list[str] | None, fmt: str, repo: Path | None, branch: str | None, crds: list[Path] | None) -> str:
    from ccp_gitops.compile.parallel import compile_all
    from ccp_gitops.order.plan import FORMATS, PlanError, build_plan
    from ccp_gitops.repo.commit import RepoError, branch_head, open_repo, read_files

    compiled = compile_all(src, [env], crds=crds, engines=chosen, cache=disk_cache())[0]
    files = compiled.tree.files
    if repo is not None:
        env_repo = open_repo(repo, create=False)
        ref = branch or compiled.delivery.branch
        head = branch_head(env_repo, ref)
        if head is None:
            raise RepoError(f"{repo}: no branch {ref!r}")
        files = read_files(env_repo, head, compiled.tree.root)
    try:
        return FORMATS[fmt](build_plan(files, compiled.env.name, chosen))
    except PlanError as exc:
        raise PlanError(f"{repo or 'compiled tree'}: {exc}") from exc


def plan_command(
    env: str = typer.Argument(..., metavar="ENV", help="Environment to plan."),
    engine: Optional[str] = typer.Option(None, "--engine", metavar="argocd|flux|both", help=ENGINE_HELP),
    fmt: str = typer.Option("text", "--format", metavar="text|json|mermaid", help="Output: text (default), json, or the mermaid waves diagram."),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    repo: Optional[Path] = typer.Option(None, "--repo", callback=args.repo_path, help="Plan what is committed in this env repo instead of compiling the source."),
    branch: Optional[str] = typer.Option(None, "--branch", callback=args.branch, help="With --repo: the env repo branch. Default: the overlay's delivery.branch."),
    crds: Optional[list[Path]] = typer.Option(None, "--crds", help=CRDS_HELP),
    to: Optional[str] = typer.Option(None, "--to", metavar="RELEASE", help="The phases of an upgrade to this OpenStack release, from the release the env repo (--repo) runs, else the source's."),
) -> None:
    chosen = engines(engine)
    if to is not None:
        from ccp_gitops.compile.spec import SessionSpec
        from ccp_gitops.upgrade.run import UpgradeRequest, plan_text

        spec = SessionSpec(source_dir(source), crds, True, chosen, disk_cache())
        request = UpgradeRequest(env, to, dry_run=True)
        typer.echo(plan_text(spec, request, repo, branch), nl=False)
        return
    if fmt not in FORMAT_NAMES:
        raise UsageError(f"--format must be one of {', '.join(FORMAT_NAMES)}, not {fmt!r}")
    src = source_dir(source)
    typer.echo(_render(src, env, chosen, fmt, repo, branch, crds), nl=False)
