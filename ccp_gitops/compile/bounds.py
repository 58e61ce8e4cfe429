"""Resource bounds of a render: no template exhausts memory, time or the stack; it gets a located error instead.

Jinja2's sandbox already caps ``range()``; the rest is bounded here: the results of ``*``, ``+``,
``**`` and ``%`` (a list doubled in a loop, ``"x" * 10**9``, ``10**10**10``), padding widths
(``center``, ``indent``, ``"{:>999999999}"``), the size of a template's output, recursion depth
and the wall time of one template.
"""

from __future__ import annotations

import math
import re
import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ccp_gitops.model.errors import CcpError

MAX_ITEMS = 1_000_000  # characters of a string, items of a list, made by one operation
MAX_INT_BITS = 4096
MAX_WIDTH = 10_000  # padding width of center/indent/format
MAX_OUTPUT = 16 * 1024 * 1024  # characters one template renders
RENDER_SECONDS = 60
_WIDE_FORMAT = re.compile(r"%[-+ #0]*\d{5,}|\{[^{}]*?\d{5,}[^{}]*\}")


class ResourceLimit(TemplateError, CcpError):
    """A template would exceed a resource bound."""


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if _size(seq) is not None and isinstance(count, int) and _size(seq) * max(count, 0) > MAX_ITEMS:  # type: ignore[operator]
                raise ResourceLimit(f"'*' would make {_size(seq) * count:,} items (at most {MAX_ITEMS:,})")  # type: ignore[operator]
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ResourceLimit(f"'*' would make a number over {MAX_INT_BITS} bits")
    elif operator == "+":
        if _size(left) is not None and _size(right) is not None and _size(left) + _size(right) > MAX_ITEMS:  # type: ignore[operator]
            raise ResourceLimit(f"'+' would make {_size(left) + _size(right):,} items (at most {MAX_ITEMS:,})")  # type: ignore[operator]
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            if right * math.log2(abs(left)) > MAX_INT_BITS:
                raise ResourceLimit(f"'**' would make a number over {MAX_INT_BITS} bits")
    elif operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
        raise ResourceLimit(f"format width over {MAX_WIDTH:,}")


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox with bounded operators and calls."""

    intercepted_binops = frozenset(["*", "+", "**", "%"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja2's signature)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_widths(getattr(__obj, "__name__", ""), owner, args, kwargs)
        return SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)


def _check_widths(name: str, text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name in ("format", "format_map") and _WIDE_FORMAT.search(text):
        raise ResourceLimit(f"format width over {MAX_WIDTH:,}")
    if any(isinstance(a, int) and a > MAX_WIDTH for a in (*args, *kwargs.values())):
        raise ResourceLimit(f"str.{name}() with an argument over {MAX_WIDTH:,}")


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A padding filter (center, indent, wordwrap, format) that refuses widths over ``MAX_WIDTH``."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "format" and args and isinstance(args[0], str) and _WIDE_FORMAT.search(args[0]):
            raise ResourceLimit(f"format width over {MAX_WIDTH:,}")
        if any(isinstance(a, int) and a > MAX_WIDTH for a in (*args[1:], *kwargs.values())):
            raise ResourceLimit(f"{name} with an argument over {MAX_WIDTH:,}")
        return function(*args, **kwargs)

    return checked


def bound_filters(env: SandboxedEnvironment) -> None:
    for name in ("center", "indent", "wordwrap", "format", "truncate"):
        if name in env.filters:
            env.filters[name] = bounded_filter(name, env.filters[name])


def join_bounded(chunks: Iterator[str]) -> str:
    """The output of a template, refused once it grows over ``MAX_OUTPUT`` characters."""
    out: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise ResourceLimit(f"rendered output over {MAX_OUTPUT // (1024 * 1024)} MiB")
        out.append(chunk)
    return "".join(out)


@contextmanager
def time_limit(seconds: int = RENDER_SECONDS) -> Iterator[None]:
    """Raise ResourceLimit in the main thread once ``seconds`` pass (no limit in other threads)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise ResourceLimit(f"rendering took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
