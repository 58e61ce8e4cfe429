"""``ccp-gitops explain``: where a value comes from — the effective value and every layer that set it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli.common import SOURCE_HELP, source_dir
from ccp_gitops.cli.output import FORMAT_HELP, TextOrJson, complete_component, complete_env, console, echo_json

HELP = """Show the effective values of one component in one environment and where each comes from.

Without PATH: one line per value, `path = value  (file:line:col)` of the layer that set it
last. With the PATH of one value: every layer that set it, lowest first — base (and its release
matrix for images), the component's defaults, each overlay of the extends chain — with the
value each wrote. PATH is dotted; keys with dots (keystone.conf) need no quoting. `env.*` are
the environment settings templates see (env.namespace, env.region, env.values.*).

Example: ccp-gitops explain env/prod keystone conf.keystone.conf.token.expiration

Example: ccp-gitops explain prod keystone images.api

Example: ccp-gitops explain prod mariadb --format json
"""

STYLES = {"path": "bold", "value": "cyan", "where": "dim", "layer": "", "effective": "green", "": ""}


def explain_command(
    env: str = typer.Argument(..., metavar="ENV", help="Environment: env/prod, overlays/prod or prod.", autocompletion=complete_env, show_default=False),
    component: str = typer.Argument(..., metavar="COMPONENT", help="A component the environment enables.", autocompletion=complete_component, show_default=False),
    path: Optional[str] = typer.Argument(None, metavar="[PATH]", help="Dotted value path, e.g. replicas.api or conf.keystone.conf.token.expiration.", show_default=False),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", help=FORMAT_HELP),
) -> None:
    from rich.text import Text

    from ccp_gitops.compile.explain import explain, render
    from ccp_gitops.compile.pipeline import env_name
    from ccp_gitops.compile.resolve import resolve
    from ccp_gitops.source.tree import load_source

    loaded = load_source(source_dir(source))
    result = explain(loaded, resolve(loaded, env_name(env)), component, path)
    if output_format is TextOrJson.json:
        echo_json(result.to_json())
        return
    out = console()
    for line in render(result):
        text = Text.assemble(*[(part, STYLES[role]) for part, role in line])
        text.rstrip()
        out.print(text)
