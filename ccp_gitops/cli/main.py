"""The ``ccp-gitops`` entry point: global options and verb registration (verbs import lazily)."""

from __future__ import annotations

import typer

from .. import __version__
from . import bundle as bundle_verb
from . import compile as compile_verb
from . import diff as diff_verb
from . import plan as plan_verb
from . import validate as validate_verb

app = typer.Typer(
    name="ccp-gitops",
    help="Compile OpenStack control-plane components and environment overlays into a GitOps env repo.",
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


def run() -> None:
    app()
