"""``ccp-gitops cache``: the disk cache's size, pruning to a bound, clearing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from ccp_gitops.cli.args import refuse

HELP = """Show, prune or clear the disk cache ($CCP_CACHE, default ~/.cache/ccp-gitops).

The cache keeps parsed inputs, renders and checks. Every command keeps it under
$CCP_CACHE_MAX_SIZE (default 512M), removing the least recently used entries first.

Example: ccp-gitops cache show

Example: ccp-gitops cache prune --max-size 100M
"""

app = typer.Typer(name="cache", help=HELP, no_args_is_help=True, rich_markup_mode=None)


def cache_root() -> Path:
    from ccp_gitops.cache.disk import default_root

    root = default_root(os.environ)
    if root is None:
        refuse("the disk cache is disabled ($CCP_CACHE is off)")
    return root


def max_bytes(option: Optional[str] = None) -> int:
    """``--max-size``, else ``$CCP_CACHE_MAX_SIZE``, else 512 MiB; exit 2 naming the one that is not a size."""
    from ccp_gitops.cache.prune import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, parse_size

    text, name = (option, "--max-size") if option is not None else (os.environ.get(MAX_BYTES_ENV), f"${MAX_BYTES_ENV}")
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(text)
    except ValueError as exc:
        refuse(f"{name}: {exc}")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@app.command("show", help="Size of the cache, per compiler version, and its bound.")
def show_command() -> None:
    from ccp_gitops.cache.prune import usage

    root = cache_root()
    found = usage(root)
    typer.echo(f"{root}: {_mib(found.bytes)} in {found.entries} entries (bound {_mib(max_bytes())})")
    for name, (count, size) in sorted(found.folders.items()):
        typer.echo(f"  {name}: {_mib(size)} in {count} entries")


@app.command("prune", help="Remove the least recently used entries until the cache is under 80% of the bound.")
def prune_command(
    max_size: Optional[str] = typer.Option(None, "--max-size", metavar="SIZE", help="Bound, e.g. 100M or 2G. Default: $CCP_CACHE_MAX_SIZE, else 512M."),
) -> None:
    from ccp_gitops.cache.prune import prune

    bound = max_bytes(max_size)
    removed, freed = prune(cache_root(), bound)
    typer.echo(f"removed {removed} entries ({_mib(freed)}); bound {_mib(bound)}")


@app.command("clear", help="Remove every entry of the cache.")
def clear_command() -> None:
    from ccp_gitops.cache.prune import clear

    removed, freed = clear(cache_root())
    typer.echo(f"removed {removed} entries ({_mib(freed)})")


def prune_when_due() -> None:
    """After any command: keep the cache under its bound (checked at most every ten minutes)."""
    from ccp_gitops.cache.disk import default_root
    from ccp_gitops.cache.prune import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, parse_size, prune_if_due

    root = default_root(os.environ)
    if root is None:
        return
    try:
        bound = parse_size(os.environ.get(MAX_BYTES_ENV) or str(DEFAULT_MAX_BYTES))
    except ValueError:
        return  # reported by the cache command; a compile is not failed for it
    try:
        prune_if_due(root, bound)
    except OSError:
        pass  # the cache only ever costs speed
