"""Errors: one base class that carries the process's exit code; the CLI catches it in one place."""

from __future__ import annotations

EXIT_FAILURE = 1  # the work could not be done (a git, kustomize or file failure)
EXIT_INPUT = 2  # the input or the command line is wrong: nothing was written


class CcpError(Exception):
    """An error ccp-gitops raises on purpose: its message is the whole story, ``exit_code`` the process's."""

    exit_code: int = EXIT_FAILURE

    def report(self) -> list[str]:
        """The lines the command line prints on standard error."""
        return [f"ccp-gitops: {self}"]


class UsageError(CcpError):
    """A command-line option or argument that cannot be used as given."""

    exit_code = EXIT_INPUT
