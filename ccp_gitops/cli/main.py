"""The ``ccp-gitops`` entry point: global options and verb registration (verbs import lazily)."""

from __future__ import annotations

import functools
from typing import Callable, ParamSpec

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
from ccp_gitops.model.errors import EXIT_FAILURE, CcpError

P = ParamSpec("P")
EXIT_INTERRUPTED = 130

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


def _os_message(exc: OSError) -> str:
    return f"{exc.filename or ''}: {exc.strerror or exc}" if exc.filename else str(exc)


def boundary(verb: Callable[P, None], failure_code: int | None = None) -> Callable[P, None]:
    """The one place errors become messages and exit codes: verbs raise, never exit; no traceback.

    A CcpError prints its report and exits with its code; a file error exits 1. ``failure_code``
    replaces exit 1 for a verb that gives 1 another meaning (``diff --exit-code``: differences).
    """

    @functools.wraps(verb)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            verb(*args, **kwargs)
            return
        except CcpError as exc:
            lines, code = exc.report(), exc.exit_code
        except OSError as exc:
            lines, code = [f"ccp-gitops: {_os_message(exc)}"], EXIT_FAILURE
        except KeyboardInterrupt:
            lines, code = ["ccp-gitops: interrupted"], EXIT_INTERRUPTED
        for line in lines:
            typer.echo(line, err=True)
        raise typer.Exit(failure_code if failure_code is not None and code == EXIT_FAILURE else code)

    return guarded


app.command("compile", help=compile_verb.HELP, no_args_is_help=False)(boundary(compile_verb.compile_command))
app.command("diff", help=diff_verb.HELP, no_args_is_help=False)(boundary(diff_verb.diff_command, failure_code=diff_verb.EXIT_ERROR))
app.command("validate", help=validate_verb.HELP)(boundary(validate_verb.validate_command))
app.command("bundle", help=bundle_verb.HELP, no_args_is_help=True)(boundary(bundle_verb.bundle_command))
app.command("plan", help=plan_verb.HELP, no_args_is_help=True)(boundary(plan_verb.plan_command))
app.command("upgrade", help=upgrade_verb.HELP, no_args_is_help=True)(boundary(upgrade_verb.upgrade_command))
app.command("explain", help=explain_verb.HELP, no_args_is_help=True)(boundary(explain_verb.explain_command))
app.command("graph", help=graph_verb.HELP, no_args_is_help=True)(boundary(graph_verb.graph_command))
app.command("init", help=init_verb.HELP, no_args_is_help=True)(boundary(init_verb.init_command))
app.command("fetch", help=fetch_verb.HELP)(boundary(fetch_verb.fetch_command))
app.add_typer(cache_verb.app, name="cache", help=cache_verb.HELP)

def run() -> None:
    try:
        app(prog_name="ccp-gitops")  # also under `python -m ccp_gitops`: one name for help and completion
    finally:
        cache_verb.prune_when_due()
