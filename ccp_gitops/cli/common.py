"""Options and error reporting shared by every verb (--source, --repo, exit codes)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, NoReturn, TypeVar

import typer

from ..problems import InputError

EXIT_INPUT = 2
EXIT_FAILURE = 1

T = TypeVar("T")

SOURCE_HELP = "Source tree (base/, components/, overlays/). Default: the current directory when it holds overlays/, else the bundled catalogue."
CRDS_HELP = "Folder of CustomResourceDefinitions (Argo CD, Flux, External Secrets) to validate custom resources; repeatable. Default: $CCP_CRDS."
REPO_HELP = "Env repo. Default: $CCP_ENV_REPO, else ./env-repo (created when missing)."
ENGINE_HELP = "Delivery engine(s): argocd, flux or both. Default: the overlay's delivery.engines."
ENGINE_CHOICES = {"argocd": ("argocd",), "flux": ("flux",), "both": ("argocd", "flux")}


def source_dir(option: Path | None) -> Path:
    from ..source import default_source

    return option if option is not None else default_source(Path.cwd())


def repo_dir(option: Path | None) -> Path:
    if option is not None:
        return option
    return Path(os.environ.get("CCP_ENV_REPO") or "env-repo")


def engines(option: str | None) -> list[str] | None:
    """``--engine`` as a list of engines (None: the overlay decides); exit 2 on an unknown name."""
    if option is None:
        return None
    if option not in ENGINE_CHOICES:
        fail(f"--engine must be one of {', '.join(ENGINE_CHOICES)}, not {option!r}", EXIT_INPUT)
    return list(ENGINE_CHOICES[option])


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    typer.echo(f"ccp-gitops: {message}", err=True)
    raise typer.Exit(code)


def report_input_errors(exc: InputError) -> NoReturn:
    errors = [p for p in exc.problems if p.is_error]
    for problem in exc.problems:
        typer.echo(str(problem), err=True)
    typer.echo(f"ccp-gitops: {len(errors)} error(s); nothing was written", err=True)
    raise typer.Exit(EXIT_INPUT)


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``: input problems exit 2, environment failures exit 1, never a traceback."""
    from git import GitCommandError

    from ..commit import RepoError
    from ..kustomize import KustomizeError

    try:
        return action()
    except InputError as exc:
        report_input_errors(exc)
    except (RepoError, KustomizeError) as exc:
        fail(str(exc))
    except GitCommandError as exc:
        detail = str(exc.stderr or "").strip().strip("'").splitlines()
        fail(f"git {' '.join(map(str, exc.command[1:2]))} failed: {detail[0] if detail else exc.status}")
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}" if exc.filename else str(exc))


def is_terminal() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
