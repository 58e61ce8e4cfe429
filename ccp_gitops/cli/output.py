"""Output helpers of the operator-experience verbs: --format choices, JSON, colour that honours NO_COLOR, completion."""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import Any

import typer


class TextOrJson(str, Enum):
    """--format of verbs that print results for people or for programs."""

    text = "text"
    json = "json"


FORMAT_HELP = "text for people, json for programs."


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False))


def console() -> Any:
    """A rich console for stdout: styled only on a terminal, never wrapped; NO_COLOR turns off
    every ANSI style (rich alone would keep bold and dim)."""
    from rich.console import Console

    if os.environ.get("NO_COLOR"):
        return Console(highlight=False, soft_wrap=True, emoji=False, markup=False, no_color=True, color_system=None)
    return Console(highlight=False, soft_wrap=True, emoji=False, markup=False)


def _source_for_completion(ctx: typer.Context) -> Path:
    """The source a completion looks at: --source when typed already, else the default."""
    from ccp_gitops.cli.common import source_dir

    given = ctx.params.get("source")
    return source_dir(Path(given) if given else None)


def complete_env(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of ENV: the overlay names of the source."""
    from ccp_gitops.source.inputs import overlay_names

    try:
        names = overlay_names(_source_for_completion(ctx))
    except OSError:
        return []
    return [n for n in names if n.startswith(incomplete)]


def complete_component(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of COMPONENT: every component the source (and a site's catalogue) defines."""
    from ccp_gitops.source.inputs import PACKAGE_CATALOGUE, SITE_FILE

    root = _source_for_completion(ctx)
    names: set[str] = set()
    for each in [root, *([PACKAGE_CATALOGUE] if (root / SITE_FILE).is_file() else [])]:
        try:
            names.update(p.name for p in (each / "components").iterdir() if (p / "component.yaml").is_file())
        except OSError:
            continue
    return sorted(n for n in names if n.startswith(incomplete))
