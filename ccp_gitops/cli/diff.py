"""``ccp-gitops diff``: preview what a change does (objects, config, upgrades, restarts, reruns, risks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from ccp_gitops.diff.model import DiffReport
    from ccp_gitops.diff.render.text import Line

from ccp_gitops.cli import args
from ccp_gitops.cli.common import CRDS_HELP, JOBS_HELP, SOURCE_HELP, disk_cache, is_terminal, job_count, repo_dir, source_dir
from ccp_gitops.model.errors import EXIT_INPUT, UsageError

FORMATS = ("text", "markdown", "json")
EXIT_DIFFERENCES = 1
EXIT_ERROR = EXIT_INPUT  # exit 1 means differences, so every failure of diff exits 2
PART_GLOB = "ccp-gitops-diff-*"

HELP = """Show what a change will do before it is committed: which objects change (config files
option by option), which images are upgraded, which pods restart and why, which Jobs run again,
in which sync wave, and what is risky. Secret values are redacted. Nothing is written.

Without --from/--to: compile the source as it is now and compare it with the head of each
environment's delivery branch in the env repo (or with --from REV). With --from and --to:
compare two revisions of the env repo, e.g. main and a review branch made by
`ccp-gitops compile ENV --branch review/NAME`. ENV defaults to every environment.

Exit status: 0 on success (with --exit-code: 1 when there are differences), 2 on error.

Example: ccp-gitops diff env/prod --repo ../openstack-env

Example: ccp-gitops diff --from main --to review/bump-nova

Example: ccp-gitops diff prod --format markdown --output-dir build/diff

Example: ccp-gitops diff prod --format json --exit-code | jq .summary

Example: ccp-gitops diff --from oci:build/staging-bundle --to oci:build/prod-bundle:prod
"""


def _write_parts(out_dir: Path, parts: list[str], suffix: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.glob(PART_GLOB)):
        stale.unlink()
    for index, part in enumerate(parts, 1):
        path = out_dir / f"ccp-gitops-diff-{index:03d}.{suffix}"
        path.write_text(part, encoding="utf-8")
        typer.echo(str(path))


def _print_coloured(lines: list[Line]) -> None:
    """The text report through rich (only on a terminal): styles per line, no markup parsing."""
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True, emoji=False)
    for line in lines:
        console.print(Text(line.text, style=line.style))


def diff_command(
    envs: Optional[list[str]] = typer.Argument(None, metavar="ENV...", help="Environments (env/prod, prod). Default: all."),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    repo: Optional[Path] = typer.Option(None, "--repo", callback=args.repo_path, help="Env repo (a git repository). Default: $CCP_ENV_REPO, else ./env-repo."),
    from_rev: Optional[str] = typer.Option(None, "--from", metavar="REV", help="Env repo revision to compare from (default: each environment's delivery branch)."),
    to_rev: Optional[str] = typer.Option(None, "--to", metavar="REV", help="Env repo revision to compare to (default: a fresh compile of the source). Needs --from. Either side may be an OCI bundle: oci:DIR or oci:DIR:TAG."),
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text (colour only on a terminal), markdown (a pull-request comment) or json (schemas/diff-report.schema.json)."),
    max_bytes: int = typer.Option(65000, "--max-bytes", metavar="N", help="markdown: split into numbered parts of at most N bytes each."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", metavar="DIR", callback=args.output_dir, help="Write the output (markdown: one file per part) to DIR and print the file names."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when there are differences (like git diff --exit-code)."),
    jobs: int = typer.Option(1, "--jobs", "-j", metavar="N", help=JOBS_HELP),
    crds: Optional[list[Path]] = typer.Option(None, "--crds", help=CRDS_HELP),
) -> None:
    from ccp_gitops.diff.render.markdown import MIN_MAX_BYTES

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if to_rev is not None and from_rev is None:
        raise UsageError("--to needs --from (compare two revisions), or drop --to to compare with the source")
    if fmt == "markdown" and max_bytes < MIN_MAX_BYTES:
        raise UsageError(f"--max-bytes must be at least {MIN_MAX_BYTES} (got {max_bytes})")
    names = list(envs or [])

    def run() -> DiffReport:
        from ccp_gitops.diff.compare import diff_revs, diff_source

        if from_rev is not None and to_rev is not None:
            return diff_revs(repo_dir(repo), from_rev, to_rev, names)
        from ccp_gitops.compile.spec import SessionSpec

        return diff_source(SessionSpec(source_dir(source), crds, True, None, disk_cache(), job_count(jobs)), names, repo_dir(repo), from_rev)

    report = run()
    if fmt == "json":
        from ccp_gitops.diff.render.json import render_json

        parts, suffix = [render_json(report)], "json"
    elif fmt == "markdown":
        from ccp_gitops.diff.render.markdown import render_markdown

        parts, suffix = render_markdown(report, max_bytes), "md"
    else:
        from ccp_gitops.diff.render.text import render_text, report_lines

        if output_dir is None and is_terminal():
            _print_coloured(report_lines(report))
            parts, suffix = [], "txt"
        else:
            parts, suffix = [render_text(report)], "txt"
    if output_dir is not None:
        _write_parts(output_dir, parts, suffix)
    else:
        for part in parts:
            typer.echo(part, nl=False)
    if exit_code and not report.empty:
        raise typer.Exit(EXIT_DIFFERENCES)
