"""``ccp-gitops graph``: the component dependency graph of one environment with its waves."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli import args
from ccp_gitops.cli.common import SOURCE_HELP, source_dir
from ccp_gitops.cli.output import complete_env


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    json = "json"


HELP = """Print the component dependency graph of one environment, grouped by wave.

A component is applied after every component it depends on: wave 0 first (Argo CD sync waves,
Flux dependsOn). mermaid is what the environment README shows; dot is for Graphviz; svg runs
Graphviz's `dot` (install the graphviz package); json is the graph as data.

Example: ccp-gitops graph env/prod

Example: ccp-gitops graph prod --format svg --output prod.svg

Example: ccp-gitops graph prod --format dot | dot -Tpng > prod.png
"""


def graph_command(
    env: str = typer.Argument(..., metavar="ENV", help="Environment: env/prod, overlays/prod or prod.", autocompletion=complete_env, show_default=False),
    output_format: GraphFormat = typer.Option(GraphFormat.mermaid, "--format", help="mermaid, dot, svg or json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", callback=args.output_file, help="Write to this file instead of standard output."),
    source: Optional[Path] = typer.Option(None, "--source", help=SOURCE_HELP),
) -> None:
    from ccp_gitops.compile.pipeline import env_name
    from ccp_gitops.compile.resolve import resolve
    from ccp_gitops.order import graph
    from ccp_gitops.source.tree import load_source

    resolved = resolve(load_source(source_dir(source)), env_name(env))
    if output_format is GraphFormat.json:
        data = (json.dumps(graph.as_json(resolved), indent=2, ensure_ascii=False) + "\n").encode()
    elif output_format is GraphFormat.svg:
        data = graph.svg(graph.dot(resolved))
    else:
        data = (graph.dot(resolved) if output_format is GraphFormat.dot else graph.mermaid(resolved)).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    typer.echo(f"env/{resolved.name}: wrote {output} ({output_format.value})", err=True)
