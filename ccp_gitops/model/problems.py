"""Problems as values: one finding with its source location, like yamllint's LintProblem."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

from ccp_gitops.model.errors import EXIT_INPUT, CcpError


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; line and column are 1-based (0 means unknown)."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about the input, printed as ``path:line:col: message``."""

    location: Location
    message: str
    severity: Severity = field(default=Severity.ERROR, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        message = " ".join(line.strip() for line in self.message.splitlines() if line.strip())  # one line per problem
        return f"{self.location}: {prefix}{message}"


def error(path: str, line: int, col: int, message: str) -> Problem:
    return Problem(Location(path, line, col), message)


def warning(path: str, line: int, col: int, message: str) -> Problem:
    return Problem(Location(path, line, col), message, Severity.WARNING)


class InputError(CcpError):
    """Raised at a stage boundary when the input has errors; carries every problem found."""

    exit_code = EXIT_INPUT

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def report(self) -> list[str]:
        """One line per problem, then how many were errors: nothing was written."""
        errors = sum(1 for p in self.problems if p.is_error)
        return [*map(str, self.problems), f"ccp-gitops: {errors} error(s); nothing was written"]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (difflib's ratio at least 0.6), for a "did you mean" hint; None if none is."""
    import difflib  # only when a problem is being described

    found = difflib.get_close_matches(word, list(choices), n=1)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the choice most like ``word``, or an empty string."""
    close = closest(word, choices)
    return f"; did you mean {close!r}?" if close else ""


def raise_if_errors(problems: Iterable[Problem]) -> None:
    """Raise InputError when any of the problems is an error."""
    found = list(problems)
    if any(p.is_error for p in found):
        raise InputError(found)
