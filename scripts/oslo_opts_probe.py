"""Runs inside a release venv and reports the option facts oslo-config-generator's JSON leaves out.

``scripts/option_catalogues.py`` runs this file with the interpreter of the
throw-away venv that holds one OpenStack release, feeds it a JSON request on
stdin and reads a JSON answer from stdout.  It only uses what the generator
itself uses (the ``oslo.config.opts`` entry points and the option objects they
return), plus keystoneauth1's documented loading API.

The generator's ``--format json`` output describes an option's type by its
``type_name``, a free-text label that projects may override (neutron labels two
integer options "IPv4 zone prefix"), and it drops whether the option is
multi-valued and what a list's items are.  This probe reads the option objects
and answers with the oslo.config type class instead.  Like the generator, it
handles one config file per process: projects register options on the global
``cfg.CONF`` when imported, and two projects in one process collide.

request (every key optional)::

    {"namespaces": ["nova.conf", "oslo.log", ...],
     "auth_plugins": ["password", ...],
     "constant": ["glance.common.wsgi_app", "RESERVED_STORES"],
     "machine": true}

answer::

    {"types": {"DEFAULT": {"host": {"type": "hostdomain"}, ...}, ...},
     "auth_plugins": {"password": [{"dest": "auth_url", "type": "string", ...}]},
     "constant": {"os_glance_staging_store": "file", ...},
     "machine": {"<hostname>": "vm", "<host_ipv4>": "192.0.2.2", ...}}
"""

from __future__ import annotations

import importlib
import json
import sys
from importlib.metadata import entry_points
from typing import Any

from oslo_config import cfg, types

# Most specific class first: Port is an Integer, HostDomain a HostAddress,
# MultiString a String.
_TYPE_CLASSES: list[tuple[type, str]] = [
    (types.MultiString, "multistring"),
    (types.Boolean, "boolean"),
    (types.Port, "port"),
    (types.Integer, "integer"),
    (types.Float, "float"),
    (types.List, "list"),
    (types.Dict, "dict"),
    (types.Range, "range"),
    (types.HostDomain, "hostdomain"),
    (types.HostAddress, "hostaddress"),
    (types.IPAddress, "ipaddress"),
    (types.Hostname, "hostname"),
    (types.URI, "uri"),
    (types.String, "string"),
]


# keystoneauth1 hands oslo.config plain callables as types.
_CALLABLES = {str: "string", int: "integer", float: "float", bool: "boolean"}


def _type_name(value_type: object) -> str:
    if isinstance(value_type, type) and value_type in _CALLABLES:
        return _CALLABLES[value_type]
    for cls, name in _TYPE_CLASSES:
        if isinstance(value_type, cls):
            return name
    return "unknown"


def type_info(opt: cfg.Opt) -> dict[str, Any]:
    """Canonical type of one option: type, and item_type / multi when they matter."""
    info: dict[str, Any] = {"type": _type_name(opt.type)}
    item_type = getattr(opt.type, "item_type", None)
    if info["type"] in ("list", "dict") and item_type is not None:
        item = _type_name(item_type)
        if item != "string":
            info["item_type"] = item
    if getattr(opt, "multi", False) and info["type"] != "multistring":
        if info["type"] == "string":
            info["type"] = "multistring"
        else:
            info["multi"] = True
    if info["type"] == "ipaddress":
        checker = getattr(getattr(opt.type, "version_checker", None), "__name__", "")
        for version in (4, 6):
            if checker.endswith(f"ipv{version}"):
                info["version"] = version
    return info


def _group_name(group: object) -> str:
    """The section name as the generator prints it (DEFAULT kept, others lower-cased)."""
    if not group:
        return "DEFAULT"
    name = str(getattr(group, "name", group))
    return "DEFAULT" if name.upper() == "DEFAULT" else name.lower()


def _namespace_opts(namespaces: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Type info for every option the namespaces list, keyed by section and dest."""
    available = {ep.name: ep for ep in entry_points(group="oslo.config.opts")}
    sections: dict[str, dict[str, dict[str, Any]]] = {}
    for namespace in namespaces:
        if namespace not in available:
            raise SystemExit(f"namespace {namespace!r} has no oslo.config.opts entry point")
        for group, opts in available[namespace].load()():
            opts = list(opts)
            driver_option = getattr(group, "driver_option", "")
            if driver_option:
                drivers = entry_points(group=f"oslo.config.opts.{driver_option}")
                for ep in drivers:
                    if ep.name in namespaces:
                        for driver_opts in ep.load()().values():
                            opts.extend(driver_opts)
            section = sections.setdefault(_group_name(group), {})
            for opt in opts:
                section[opt.dest] = type_info(opt)
    return sections


def _auth_plugin_opts(plugin: str) -> list[dict[str, Any]]:
    """The options a keystoneauth1 plugin reads from its section, in catalogue form."""
    from keystoneauth1 import loading

    found = []
    for opt in loading.get_auth_plugin_conf_options(plugin):
        entry: dict[str, Any] = {"dest": opt.dest, **type_info(opt)}
        if opt.default is not None:
            entry["default"] = opt.default
        if opt.secret:
            entry["secret"] = True
        deprecated = [
            {"section": d.group, "name": (d.name or opt.dest).replace("-", "_")}
            for d in opt.deprecated_opts
        ]
        if deprecated:
            entry["deprecated_names"] = deprecated
        found.append(entry)
    return found


def _machine() -> dict[str, str]:
    """Values of this machine that options take as defaults (to scrub from catalogues)."""
    import socket

    from oslo_utils import netutils

    found = {
        "<hostname>": socket.gethostname(),
        "<fqdn>": socket.getfqdn(),
        "<host_ipv4>": netutils.get_my_ipv4(),
        "<host_ipv6>": netutils.get_my_ipv6(),
        "<venv>": sys.prefix,
    }
    generic = {"", "localhost", "localhost.localdomain", "127.0.0.1", "::1"}
    return {k: v for k, v in found.items() if v and v not in generic}


def main() -> None:
    request = json.load(sys.stdin)
    answer: dict[str, Any] = {
        "types": _namespace_opts(request.get("namespaces", [])),
        "auth_plugins": {p: _auth_plugin_opts(p) for p in request.get("auth_plugins", [])},
    }
    if request.get("machine"):
        answer["machine"] = _machine()
    if request.get("constant"):
        module, attribute = request["constant"]
        answer["constant"] = getattr(importlib.import_module(module), attribute)
    json.dump(answer, sys.stdout, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
