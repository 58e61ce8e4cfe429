"""Paths into JSON-like values as messages and reports name them: ``spec.containers[0].image``."""

from __future__ import annotations

import re
from typing import Callable, Iterable


def dotted_path(parts: Iterable[str | int], plain: re.Pattern[str], quote: Callable[[str], str], item: re.Pattern[str] | None = None) -> str:
    """Keys matching ``plain`` as ``.key``, indexes as ``[0]``, other keys as ``[quote(key)]``.

    With ``item``, a key ``"\\0name"`` is a list item known by its name: ``[name]`` when the name
    matches ``item``, else ``[quote(name)]`` (``containers[api]``).
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif item is not None and part.startswith("\0"):
            name = part[1:]
            out += f"[{name}]" if item.match(name) else f"[{quote(name)}]"
        elif plain.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{quote(part)}]"
    return out
