"""Options shared by every verb (--source, --repo, --engine, --jobs), the disk cache and the progress bar."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from ccp_gitops.model.errors import UsageError

if TYPE_CHECKING:
    from ccp_gitops.cache.disk import Cache

SOURCE_HELP = "Source tree (base/, components/, overlays/). Default: the current directory when it holds overlays/, else the bundled catalogue."
CRDS_HELP = "Folder of CustomResourceDefinitions (Argo CD, Flux, External Secrets) to validate custom resources; repeatable. Default: $CCP_CRDS."
REPO_HELP = "Env repo. Default: $CCP_ENV_REPO, else ./env-repo (created when missing)."
ENGINE_HELP = "Delivery engine(s): argocd, flux or both. Default: the overlay's delivery.engines."
JOBS_HELP = "Compile environments in N processes (0: one per CPU). The result is the same for any N."
ENGINE_CHOICES = {"argocd": ("argocd",), "flux": ("flux",), "both": ("argocd", "flux")}


def source_dir(option: Path | None) -> Path:
    from ccp_gitops.source.inputs import default_source

    return option if option is not None else default_source(Path.cwd())


def repo_dir(option: Path | None) -> Path:
    """``--repo`` (checked as it was parsed), else ``$CCP_ENV_REPO``, else ``./env-repo``: exit 2 when it cannot be a repo."""
    if option is not None:
        return option
    from ccp_gitops.cli.args import repo_problem

    path = Path(os.environ.get("CCP_ENV_REPO") or "env-repo")
    problem = repo_problem(path)
    if problem is not None:
        raise UsageError(f"{'$CCP_ENV_REPO' if os.environ.get('CCP_ENV_REPO') else 'the default env repo ./env-repo'}: {problem}")
    return path


def engines(option: str | None) -> list[str] | None:
    """``--engine`` as a list of engines (None: the overlay decides); exit 2 on an unknown name."""
    if option is None:
        return None
    if option not in ENGINE_CHOICES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINE_CHOICES)}, not {option!r}")
    return list(ENGINE_CHOICES[option])


def is_terminal() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def disk_cache() -> Cache | None:
    """The disk cache: ``$CCP_CACHE`` (``off`` disables it), else ``~/.cache/ccp-gitops``."""
    from ccp_gitops.cache.disk import default_root, open_cache

    return open_cache(default_root(os.environ))


def job_count(option: int) -> int:
    if option < 0:
        raise UsageError(f"--jobs must be 0 (one per CPU) or more, not {option}")
    if option:
        return option
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def progress_bar(total: int, what: str) -> Iterator[Callable[[str], None] | None]:
    """A progress callback drawing a bar on a terminal's stderr (none with NO_COLOR, off a terminal, or for one item)."""
    if total < 2 or not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    # no refresh thread: workers may be forked while the bar is shown
    with Progress(*columns, console=Console(stderr=True), transient=True, auto_refresh=False) as bar:
        task = bar.add_task("", total=total)

        def advance(name: str) -> None:
            bar.update(task, advance=1, description=f"env/{name}", refresh=True)

        yield advance
