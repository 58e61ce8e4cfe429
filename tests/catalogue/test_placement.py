"""placement: the Placement API, its Jobs and placement.conf wiring."""

from __future__ import annotations

from pathlib import Path

from .support import compiled, config_file, containers, env_of, find, inventory, job_base, objects, parse_ini, smoke_test
from .workloads import check_volumes, config_keys, generated_secrets, mounted_files, secret_refs, waits, workloads

COMPONENT = "placement"
JOBS = ["placement-db-init", "placement-db-sync", "placement-ks-register"]


def _rbac(name: str) -> set[tuple[str, str]]:
    return {("ServiceAccount", name), ("Role", name + "-wait"), ("RoleBinding", name + "-wait")}


def test_inventory_prod(catalogue: Path) -> None:
    expected = {
        ("Deployment", "placement-api"),
        ("Service", "placement-api"),
        ("PodDisruptionBudget", "placement-api"),
        ("Ingress", "placement-api"),
        ("ConfigMap", "placement-etc"),
        *_rbac("placement-api"),
    }
    for secret in ("placement-db", "placement-keystone", "placement-memcache"):
        expected |= {("Password", secret), ("ExternalSecret", secret)}
    for job in JOBS:
        expected |= {("Job", job), *_rbac(job)}
    assert inventory(catalogue, "prod", COMPONENT) == expected | smoke_test(COMPONENT)


def test_dev_has_no_ha_or_ingress(catalogue: Path) -> None:
    kinds = {kind for kind, _ in inventory(catalogue, "dev", COMPONENT)}
    assert not kinds & {"PodDisruptionBudget", "Ingress"}
    api = find(catalogue, "dev", COMPONENT, "Deployment", "placement-api")
    assert api["spec"]["replicas"] == 1
    assert "affinity" not in api["spec"]["template"]["spec"]


def test_dependencies(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    comp = env.components[COMPONENT]
    assert comp.depends_on == ["mariadb", "memcached", "keystone"]
    assert comp.wave > max(env.components[d].wave for d in comp.depends_on)


def test_api(catalogue: Path) -> None:
    api = find(catalogue, "prod", COMPONENT, "Deployment", "placement-api")
    assert api["spec"]["replicas"] >= 2
    assert api["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    w = waits(api)
    assert w["services"] == ["mariadb", "memcached", "keystone-api"]
    assert sorted(job_base(catalogue, "prod", j) for j in w["jobs"]) == ["placement-db-sync", "placement-ks-register"]
    (container,) = containers(api)
    assert container["command"] == ["uwsgi", "--ini", "/etc/placement/placement-uwsgi.ini"]
    env = env_of(container)
    assert env["OS_PLACEMENT_DATABASE__CONNECTION"] == ("placement-db", "connection")
    assert env["OS_KEYSTONE_AUTHTOKEN__PASSWORD"] == ("placement-keystone", "password")
    assert env["OS_KEYSTONE_AUTHTOKEN__MEMCACHE_SECRET_KEY"] == ("placement-memcache", "secret_key")
    assert mounted_files(api, "placement-api") == {"/etc/placement/placement.conf": "placement.conf",
                                                   "/etc/placement/placement-uwsgi.ini": "placement-uwsgi.ini"}
    service = find(catalogue, "prod", COMPONENT, "Service", "placement-api")
    assert service["spec"]["ports"] == [{"name": "http", "port": 8778, "targetPort": "http"}]


def test_jobs(catalogue: Path) -> None:
    sync = find(catalogue, "prod", COMPONENT, "Job", "placement-db-sync")
    assert [job_base(catalogue, "prod", j) for j in waits(sync)["jobs"]] == ["placement-db-init"]
    assert "placement-manage --config-file /etc/placement/placement.conf db sync" in containers(sync)[0]["command"][-1]
    assert config_keys(sync, "placement-etc") == {"placement.conf"}
    register = containers(find(catalogue, "prod", COMPONENT, "Job", "placement-ks-register"))[0]["command"][-1]
    assert "openstack service create --name placement" in register and " placement\n" in register
    assert "internal http://placement-api:8778" in register
    assert "public https://placement.openstack.example.com" in register
    init = containers(find(catalogue, "prod", COMPONENT, "Job", "placement-db-init"))[0]["command"][-1]
    assert "CREATE DATABASE IF NOT EXISTS \\`placement\\`" in init


def test_placement_conf(catalogue: Path) -> None:
    conf = parse_ini(config_file(catalogue, "prod", COMPONENT, "placement-etc", "placement.conf"))
    assert conf["api"]["auth_strategy"] == "keystone"
    auth = conf["keystone_authtoken"]
    assert auth["auth_url"] == "http://keystone-api:5000"
    assert auth["www_authenticate_uri"] == "https://identity.openstack.example.com"
    assert auth["username"] == "placement" and auth["auth_type"] == "password"
    assert auth["memcached_servers"] == "memcached-0.memcached:11211,memcached-1.memcached:11211"
    assert "password" not in auth and "memcache_secret_key" not in auth
    assert "connection" not in conf["placement_database"]
    uwsgi = parse_ini(config_file(catalogue, "prod", COMPONENT, "placement-etc", "placement-uwsgi.ini"))["uwsgi"]
    assert uwsgi["module"] == "placement.wsgi.api:application"
    assert uwsgi["http-socket"] == ":8778"


def test_workloads_are_consistent(catalogue: Path) -> None:
    secrets = generated_secrets(catalogue, "prod")
    for body in workloads(catalogue, "prod", COMPONENT):
        check_volumes(body)
        for name, key in secret_refs(body):
            assert key in secrets.get(name, set()), f"{body['metadata']['name']}: no generated Secret {name}/{key}"
    assert all(b["kind"] != "Secret" for b in objects(catalogue, "prod", COMPONENT))
