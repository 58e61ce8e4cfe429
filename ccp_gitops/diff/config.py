"""Diff of config files (ConfigMap keys) as config: INI options per section, unified text diff otherwise."""

from __future__ import annotations

import difflib
import re
from typing import Any, Mapping

from ccp_gitops.diff.model import FileChange, Op, OptionChange

INI_SUFFIXES = (".conf", ".ini", ".cfg", ".cnf")
REDACTED = "<redacted>"
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?P<at>@)")
_SECRET_LINE = re.compile(r"(?i)(?P<head>\b[\w.-]*(?:password|passwd|secret|token)[\w.-]*\b[\"']?\s*[:=]\s*)(?P<secret>\S.*)$")
_SECRET_OPTION = re.compile(r"(?i)(password|passwd|secret|token|credential)s?$|(^|_)key$")
_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")

Ini = dict[str, dict[str, list[str]]]


def mask_credentials(text: str) -> str:
    """Hide the password of ``scheme://user:password@host`` URLs."""
    if "://" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}***{m['at']}", text)


def mask_line(line: str) -> str:
    """Hide credentials in one line of a non-INI config file (URLs and ``password: value`` pairs)."""
    line = mask_credentials(line)
    return _SECRET_LINE.sub(lambda m: f"{m['head']}***", line)


def secret_option(name: str) -> bool:
    """True for option names that hold credentials (``password``, ``memcache_secret_key``, ``admin_token``)."""
    return bool(_SECRET_OPTION.search(name.strip()))


def parse_ini(text: str) -> Ini | None:
    """Parse oslo.config / my.cnf style INI keeping repeated keys (multistrings); None when not INI."""
    sections: Ini = {}
    current: dict[str, list[str]] | None = None
    last: tuple[dict[str, list[str]], str] | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            last = None
            continue
        if stripped[0] in "#;":
            continue
        if line[0] in " \t" and last is not None:
            options, key = last
            options[key][-1] += "\n" + stripped
            continue
        match = _SECTION.match(stripped)
        if match:
            current = sections.setdefault(match["name"].strip(), {})
            last = None
            continue
        if current is None:
            return None
        cut = min((i for i in (stripped.find("="), stripped.find(":")) if i > 0), default=-1)
        key, value = (stripped[:cut].strip(), stripped[cut + 1 :].strip()) if cut > 0 else (stripped, "")
        current.setdefault(key, []).append(value)
        last = (current, key)
    return sections if sections else None


def _value(values: list[str] | None) -> str | list[str] | None:
    if values is None:
        return None
    return values[0] if len(values) == 1 else list(values)


def _masked(values: list[str] | None) -> list[str] | None:
    return None if values is None else [mask_credentials(v) for v in values]


def _ordered_union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def compare_ini(old: Ini, new: Ini) -> list[OptionChange]:
    """Option-level changes in file order (new file's order, then what only the old file had)."""
    out: list[OptionChange] = []
    for section in _ordered_union(list(new), list(old)):
        old_opts, new_opts = old.get(section, {}), new.get(section, {})
        for option in _ordered_union(list(new_opts), list(old_opts)):
            before, after = old_opts.get(option), new_opts.get(option)
            if before == after:
                continue
            op: Op = "add" if before is None else "remove" if after is None else "change"
            if secret_option(option):
                out.append(OptionChange(section, option, op, redacted=True))
                continue
            m_before, m_after = _masked(before), _masked(after)
            if op == "change" and m_before == m_after:
                out.append(OptionChange(section, option, op, redacted=True))
                continue
            redacted = m_before != before or m_after != after
            out.append(OptionChange(section, option, op, _value(m_before), _value(m_after), redacted))
    return out


def unified(name: str, old: str, new: str) -> str:
    """A unified diff of two texts, credentials masked line by line (a changed secret still shows as -/+)."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{name}", f"b/{name}", lineterm="", n=2)
    return "\n".join(line if n < 2 else line[:1] + mask_line(line[1:]) for n, line in enumerate(lines))


def _is_ini_name(name: str) -> bool:
    return name.lower().endswith(INI_SUFFIXES)


def compare_file(name: str, old: Any, new: Any) -> FileChange | None:
    """Compare one ConfigMap key; ``old``/``new`` are None when the key is missing on that side."""
    if old == new:
        return None
    op: Op = "add" if old is None else "remove" if new is None else "change"
    old_text, new_text = ("" if old is None else str(old)), ("" if new is None else str(new))
    looks_ini = _is_ini_name(name) or any(t.lstrip().startswith("[") for t in (old_text, new_text) if t)
    if looks_ini:
        old_ini = parse_ini(old_text) if old_text else {}
        new_ini = parse_ini(new_text) if new_text else {}
        if old_ini is not None and new_ini is not None:
            options = compare_ini(old_ini, new_ini)
            if options or op != "change":
                return FileChange(name, op, "ini", tuple(options))
    return FileChange(name, op, "text", (), unified(name, old_text, new_text))


def compare_data(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, binary: bool = False) -> list[FileChange]:
    """Per-key changes of a ConfigMap's ``data`` (or ``binaryData``, reported without content)."""
    old, new = old or {}, new or {}
    out: list[FileChange] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if binary:
            op: Op = "add" if before is None else "remove" if after is None else "change"
            out.append(FileChange(key, op, "binary"))
            continue
        change = compare_file(key, before, after)
        if change is not None:
            out.append(change)
    return out
