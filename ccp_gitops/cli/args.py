"""Command-line arguments checked as they are parsed, before any work: a bad one exits 2 naming it.

Each function is a Typer ``callback``: it returns the value, or prints one line naming the
option (``ccp-gitops: --branch: ...``) and exits 2.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import NoReturn, Optional

import typer

from ccp_gitops.model.errors import EXIT_INPUT


def refuse(message: str) -> NoReturn:
    """Exit 2 with one line, for option callbacks and the cache sub-commands, which run outside the verb boundary."""
    typer.echo(f"ccp-gitops: {message}", err=True)
    raise typer.Exit(EXIT_INPUT)


def _refuse(param: typer.CallbackParam, problem: str) -> NoReturn:
    refuse(f"{param.opts[0] if param.opts else param.name}: {problem}")

def branch_problem(name: str) -> str | None:
    """Why ``name`` is not a branch name by git's rules (``git check-ref-format --branch``), or None.

    ``--branch`` expands ``@{-N}`` against the current repository, so the rules are applied to
    ``refs/heads/<name>`` instead, plus the two ``--branch`` adds: not ``HEAD``, no leading ``-``.
    """
    if not name:
        return "a branch name must not be empty"
    if name.startswith("-"):
        return f"{name!r} starts with '-': not a valid branch name"
    if name == "HEAD" or "@{" in name:
        return f"{name!r} is not a valid branch name"
    proc = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True)
    if proc.returncode != 0:
        return f"{name!r} is not a valid branch name (git check-ref-format: no '..', '@{{', '//', control characters, space, ~^:?*[\\, no component starting with '.' or ending with '.lock')"
    return None


def branch(param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    problem = branch_problem(value)
    if problem is not None:
        _refuse(param, problem)
    return value


def message(param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    if value is not None and (not value.strip() or "\0" in value):
        _refuse(param, "a commit subject must hold some text")
    return value


def repo_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the env repo (a file, a folder of other things), or None (a repo, or nothing yet)."""
    if not path.exists():
        return None
    if not path.is_dir():
        return f"{path}: exists and is not a directory"
    from ccp_gitops.repo.commit import RepoError, open_repo

    try:
        open_repo(path, create=False)
    except RepoError as exc:
        return str(exc) if any(path.iterdir()) else None
    return None


def repo_path(param: typer.CallbackParam, value: Optional[Path]) -> Optional[Path]:
    """The env repo: a git repository, or a path where one can be created."""
    problem = repo_problem(value) if value is not None else None
    if problem is not None:
        _refuse(param, problem)
    return value


def output_file(param: typer.CallbackParam, value: Optional[Path]) -> Optional[Path]:
    """A file to write: not a directory, in a folder that exists."""
    if value is None:
        return None
    if value.is_dir():
        _refuse(param, f"{value}: is a directory; name a file")
    if not value.parent.is_dir():
        _refuse(param, f"{value}: folder {value.parent} does not exist")
    return value


def output_dir(param: typer.CallbackParam, value: Optional[Path]) -> Optional[Path]:
    """A folder to write into: a directory, or a path that can become one."""
    if value is not None and value.exists() and not value.is_dir():
        _refuse(param, f"{value}: exists and is not a directory")
    return value
