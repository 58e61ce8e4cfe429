"""The ``ccp-gitops`` entry point: global options and verb registration (verbs import lazily)."""

from __future__ import annotations

import typer

from ccp_gitops import __version__
from ccp_gitops.cli import bundle as bundle_verb
from ccp_gitops.cli import cache as cache_verb
from ccp_gitops.cli import compile as compile_verb
from ccp_gitops.cli import diff as diff_verb
from ccp_gitops.cli import explain as explain_verb
from ccp_gitops.cli import fetch as fetch_verb
from ccp_gitops.cli import graph as graph_verb
from ccp_gitops.cli import init as init_verb
from ccp_gitops.cli import plan as plan_verb
from ccp_gitops.cli import upgrade as upgrade_verb
from ccp_gitops.cli import validate as validate_verb

HELP = """Compile OpenStack control-plane components and environment overlays into a GitOps env repo.

Example: ccp-gitops compile env/prod

Example: ccp-gitops init my-site && cd my-site && ccp-gitops validate --all

Shell completion: ccp-gitops --install-completion (bash, zsh, fish, PowerShell).
"""

app = typer.Typer(
    name="ccp-gitops",
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ccp-gitops {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Compile OpenStack control-plane components and environment overlays into a GitOps env repo.

    Example: ccp-gitops compile env/prod
    """


app.command("compile", help=compile_verb.HELP, no_args_is_help=False)(compile_verb.compile_command)
app.command("diff", help=diff_verb.HELP, no_args_is_help=False)(diff_verb.diff_command)
app.command("validate", help=validate_verb.HELP)(validate_verb.validate_command)
app.command("bundle", help=bundle_verb.HELP, no_args_is_help=True)(bundle_verb.bundle_command)
app.command("plan", help=plan_verb.HELP, no_args_is_help=True)(plan_verb.plan_command)
app.command("upgrade", help=upgrade_verb.HELP, no_args_is_help=True)(upgrade_verb.upgrade_command)
app.command("explain", help=explain_verb.HELP, no_args_is_help=True)(explain_verb.explain_command)
app.command("graph", help=graph_verb.HELP, no_args_is_help=True)(graph_verb.graph_command)
app.command("init", help=init_verb.HELP, no_args_is_help=True)(init_verb.init_command)
app.command("fetch", help=fetch_verb.HELP)(fetch_verb.fetch_command)
app.add_typer(cache_verb.app, name="cache", help=cache_verb.HELP)


def run() -> None:
    try:
        app(prog_name="ccp-gitops")  # also under `python -m ccp_gitops`: one name for help and completion
    finally:
        cache_verb.prune_when_due()
