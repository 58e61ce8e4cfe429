"""memcached: a StatefulSet behind a headless Service, and every client's server list (oslo.cache
memcache_servers, keystonemiddleware memcached_servers, Horizon's CACHES LOCATION) is the list
of per-pod DNS names rendered from memcached's replica count."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.compile.pipeline import Compiled

from .support import compiled, parse_ini

# component -> (ConfigMap, file, [(section, option)])
OSLO_CLIENTS = {
    "keystone": ("keystone-etc", "keystone.conf", [("cache", "memcache_servers")]),
    "glance": ("glance-etc", "glance-api.conf", [("keystone_authtoken", "memcached_servers")]),
    "placement": ("placement-etc", "placement.conf", [("keystone_authtoken", "memcached_servers")]),
    "nova": ("nova-etc", "nova.conf", [("cache", "memcache_servers"), ("keystone_authtoken", "memcached_servers")]),
    "neutron": ("neutron-etc", "neutron.conf", [("keystone_authtoken", "memcached_servers")]),
}


def _file(result: Compiled, component: str, config_map: str, key: str) -> str:
    (cm,) = [o.body for o in result.objects if o.component == component and o.id.kind == "ConfigMap" and o.id.name == config_map]
    return str(cm["data"][key])


def server_lists(result: Compiled) -> dict[str, list[str]]:
    """Where -> the memcached servers it lists, for every client in the environment."""
    out: dict[str, list[str]] = {}
    for component, (config_map, key, options) in OSLO_CLIENTS.items():
        conf = parse_ini(_file(result, component, config_map, key))
        for section, option in options:
            out[f"{component}/{key}[{section}]{option}"] = conf[section][option].split(",")
    tree = ast.parse(_file(result, "horizon", "horizon-etc", "local_settings.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "CACHES":
            caches: Any = ast.literal_eval(node.value)
            out["horizon/local_settings.py CACHES"] = list(caches["default"]["LOCATION"])
    return out


def expected(replicas: int) -> list[str]:
    return [f"memcached-{i}.memcached:11211" for i in range(replicas)]


@pytest.mark.parametrize("env, replicas", [("dev", 1), ("prod", 2)])
def test_statefulset_behind_a_headless_service(catalogue: Path, env: str, replicas: int) -> None:
    objs = {(o.id.kind, o.id.name): o.body for o in compiled(catalogue, env).objects if o.component == "memcached"}
    sts, service = objs[("StatefulSet", "memcached")], objs[("Service", "memcached")]
    assert ("Deployment", "memcached") not in objs
    assert sts["spec"]["replicas"] == replicas
    assert sts["spec"]["serviceName"] == "memcached" and service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == sts["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("env, replicas", [("dev", 1), ("prod", 2)])
def test_every_client_lists_every_instance(catalogue: Path, env: str, replicas: int) -> None:
    lists = server_lists(compiled(catalogue, env))
    assert len(lists) == 7
    assert {where: servers for where, servers in lists.items() if servers != expected(replicas)} == {}


def test_server_lists_follow_the_replica_count(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "prod" / "env.yaml"
    text = overlay.read_text()
    assert "replicas: {memcached: 2}" in text
    overlay.write_text(text.replace("replicas: {memcached: 2}", "replicas: {memcached: 3}"))
    (result,) = compile_all(source_copy, ["prod"], check=False)
    lists = server_lists(result)
    assert {where: servers for where, servers in lists.items() if servers != expected(3)} == {}
