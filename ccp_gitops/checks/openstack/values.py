"""OpenStack option values: does a value fit an option's type, range and choices (oslo.config's rules)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import urlsplit

from ccp_gitops.checks.openstack.catalogue import FALSE_STRINGS, TRUE_STRINGS, OptionSpec

N = TypeVar("N", int, float)

# oslo.config's types.Hostname / types.HostDomain label rules.
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_DOMAIN_LABEL = re.compile(r"(?!-)[A-Z0-9-_]{1,63}(?<!-)$", re.IGNORECASE)
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*$")
_RANGE = re.compile(r"\s*-?\d+\s*(:\s*-?\d+\s*)?$")


def is_template(value: object) -> bool:
    """A value oslo.config interpolates (``$opt``, ``${opt}``) or a template filled in later."""
    return isinstance(value, str) and ("$" in value or "{{" in value)


def is_multistring(value: object) -> bool:
    """The ``{"type": "multistring", "values": [...]}`` form of a multi-valued option."""
    return isinstance(value, Mapping) and value.get("type") == "multistring" and "values" in value


def show_value(value: object, spec: OptionSpec) -> str:
    return "<secret>" if spec.secret else repr(value)


def _is_hostname(value: str, label: re.Pattern[str]) -> bool:
    if not value or len(value) > 253:
        return False
    labels = value.removesuffix(".").split(".")
    return bool(re.search("[a-zA-Z-]", labels[-1])) and all(label.match(x) for x in labels)


def _is_ip(value: str, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or address.version == version


def _number(value: object, kinds: tuple[type, ...], parse: Callable[[Any], N]) -> N | None:
    """``value`` as a number when it is one of ``kinds`` or text ``parse`` reads (never a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, kinds):
        return parse(value)
    if isinstance(value, str):
        try:
            return parse(value.strip())
        except ValueError:
            return None
    return None


def _as_int(value: object) -> int | None:
    return _number(value, (int,), int)


def _as_float(value: object) -> float | None:
    return _number(value, (int, float), float)


def _scalar_text(value: object) -> str:
    """A YAML scalar as it ends up in the INI file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_error(type_name: str, value: object, spec: OptionSpec) -> str | None:
    """Why ``value`` is not a valid single value of ``type_name`` for ``spec``, or None."""
    if value is None or is_template(value):
        return None
    shown = show_value(value, spec)
    if isinstance(value, (list, Mapping)) and type_name not in ("list", "dict"):
        return f"expected a {type_name} value, got a {'list' if isinstance(value, list) else 'mapping'}"
    number: int | float | None = None
    if type_name in ("integer", "port"):
        number = _as_int(value)
        if number is None:
            return f"expected an integer, got {shown}"
    elif type_name == "float":
        number = _as_float(value)
        if number is None:
            return f"expected a number, got {shown}"
    elif type_name == "boolean":
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return None
        if not (isinstance(value, str) and value.strip().lower() in TRUE_STRINGS | FALSE_STRINGS):
            return f"expected a boolean (true/false, yes/no, on/off, 1/0), got {shown}"
        return None
    elif type_name == "list":
        return _list_error(value, spec)
    elif type_name == "dict":
        return _dict_error(value, spec)
    elif type_name in ("uri", "hostaddress", "hostdomain", "hostname", "ipaddress", "range"):
        text = _scalar_text(value).strip()
        if not _has_form(type_name, text, spec.version):
            return f"expected {_FORMS[type_name]}, got {shown}"
    if number is not None:
        if spec.min is not None and number < spec.min:
            return f"{shown} is below the minimum {spec.min}"
        if spec.max is not None and number > spec.max:
            return f"{shown} is above the maximum {spec.max}"
    if spec.choices:
        candidate: object = number if number is not None else _scalar_text(value)
        allowed = [c for c in spec.choices if c is not None]
        if candidate not in allowed and str(candidate) not in [str(c) for c in allowed]:
            listed = ", ".join(str(c) for c in allowed)
            return f"{shown} is not one of: {listed}"
    return None


_FORMS = {
    "uri": "a URI with a scheme and a host",
    "hostaddress": "an IP address or a host name",
    "hostdomain": "an IP address or a domain name",
    "hostname": "a host name",
    "ipaddress": "an IP address",
    "range": "a range like 'min:max'",
}


def _has_form(type_name: str, text: str, version: int | None) -> bool:
    if type_name == "uri":
        try:
            parts = urlsplit(text)
            return bool(_URI_SCHEME.match(parts.scheme) and parts.hostname)
        except ValueError:
            return False
    if type_name == "hostaddress":
        return _is_ip(text) or _is_hostname(text, _HOSTNAME_LABEL)
    if type_name == "hostdomain":
        return _is_ip(text) or _is_hostname(text, _DOMAIN_LABEL)
    if type_name == "hostname":
        return _is_hostname(text, _HOSTNAME_LABEL)
    if type_name == "ipaddress":
        return _is_ip(text, version)
    return bool(_RANGE.match(text))


def _item_error(item: object, spec: OptionSpec) -> str | None:
    if spec.item_type is None or spec.item_type in ("string", "unknown", "dict"):
        if isinstance(item, (list, Mapping)) and spec.item_type != "dict":
            return "expected a list of plain values"
        return None
    return _value_error(spec.item_type, item, _item_spec(spec))


def _item_spec(spec: OptionSpec) -> OptionSpec:
    """The spec items of a list or dict are checked against: the item type, no bounds."""
    return OptionSpec(section=spec.section, name=spec.name, type=spec.item_type or "string", secret=spec.secret)


def _list_error(value: object, spec: OptionSpec) -> str | None:
    if isinstance(value, Mapping):
        return "expected a list or a comma-separated string, got a mapping"
    items: list[object] = list(value) if isinstance(value, list) else list(_scalar_text(value).split(","))
    for item in items:
        if isinstance(item, str) and spec.item_type not in (None, "string", "unknown", "dict"):
            item = item.strip()
        problem = _item_error(item, spec)
        if problem is not None:
            return f"list item: {problem}"
    return None


def _dict_error(value: object, spec: OptionSpec) -> str | None:
    if isinstance(value, list):
        return "expected a mapping or 'key:value,...', got a list"
    if isinstance(value, Mapping):
        entries: list[object] = list(value.values())
    else:
        pairs = [p for p in _scalar_text(value).split(",") if p.strip()]
        if any(":" not in p for p in pairs):
            return f"expected 'key:value,...', got {show_value(value, spec)}"
        entries = [p.partition(":")[2].strip() for p in pairs]
    for entry in entries:
        problem = _item_error(entry, spec)
        if problem is not None:
            return f"dict value: {problem}"
    return None


def value_error(spec: OptionSpec, value: object) -> str | None:
    """Why ``value`` cannot be given to the option, or None when it can (or cannot be known yet)."""
    if is_multistring(value):
        if not spec.is_multi:
            return "not a multi-valued option; give one value, not a multistring"
        assert isinstance(value, Mapping)
        values = value.get("values")
        if not isinstance(values, list):
            return "a multistring needs a list under 'values'"
        items: list[object] = values
    elif spec.is_multi:
        items = list(value) if isinstance(value, list) else [value]
    else:
        return _value_error(spec.type, value, spec)
    item_type = "string" if spec.type == "multistring" else spec.type
    for item in items:
        problem = _value_error(item_type, item, spec)
        if problem is not None:
            return problem
    return None
