"""memcached, mariadb and keystone: inventories, dependencies and config wiring."""

from __future__ import annotations

from pathlib import Path

from .support import compiled, config_file, containers, dependency_waits, env_of, find, inventory, job_base, parse_ini, smoke_test


def RBAC(name: str) -> set[tuple[str, str]]:  # noqa: N802  (reads like the constant sets beside it)
    return {("ServiceAccount", name), ("Role", name + "-wait"), ("RoleBinding", name + "-wait")}


def test_memcached(catalogue: Path) -> None:
    assert compiled(catalogue, "prod").env.components["memcached"].depends_on == []
    assert inventory(catalogue, "prod", "memcached") == {("StatefulSet", "memcached"), ("Service", "memcached"), ("PodDisruptionBudget", "memcached")}
    assert inventory(catalogue, "dev", "memcached") == {("StatefulSet", "memcached"), ("Service", "memcached")}
    assert find(catalogue, "prod", "memcached", "StatefulSet", "memcached")["spec"]["replicas"] == 2


def test_mariadb_is_a_galera_statefulset(catalogue: Path) -> None:
    assert compiled(catalogue, "prod").env.components["mariadb"].depends_on == []
    expected = {
        ("StatefulSet", "mariadb"), ("Service", "mariadb"), ("Service", "mariadb-discovery"),
        ("ConfigMap", "mariadb-etc"), ("Password", "mariadb-root"), ("ExternalSecret", "mariadb-root"),
        ("Deployment", "mariadb-proxy"),
    }
    assert inventory(catalogue, "prod", "mariadb") == expected | {("PodDisruptionBudget", "mariadb"), ("PodDisruptionBudget", "mariadb-proxy")}
    assert inventory(catalogue, "dev", "mariadb") == expected
    prod = find(catalogue, "prod", "mariadb", "StatefulSet", "mariadb")
    assert prod["spec"]["replicas"] == 3 and find(catalogue, "dev", "mariadb", "StatefulSet", "mariadb")["spec"]["replicas"] == 1
    assert prod["spec"]["serviceName"] == "mariadb-discovery"
    assert prod["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    galera = parse_ini(config_file(catalogue, "prod", "mariadb", "mariadb-etc", "galera.cnf"))
    assert galera["mysqld"]["wsrep_provider"] == "/usr/lib/galera/libgalera_smm.so"
    assert galera["mysqld"]["binlog_format"] == "ROW"


def test_mariadb_recovers_by_itself_and_takes_one_writer(catalogue: Path) -> None:
    """Parallel start for the election, probes that know start-up and SST, one writer behind `mariadb`."""
    sts = find(catalogue, "prod", "mariadb", "StatefulSet", "mariadb")
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    [db] = containers(sts)
    assert db["command"] == ["/bin/sh", "/etc/mysql/ccp/start.sh"]
    assert db["livenessProbe"]["exec"]["command"] == ["/bin/sh", "/etc/mysql/ccp/liveness.sh"]
    assert db["readinessProbe"]["exec"]["command"] == ["/bin/sh", "/etc/mysql/ccp/readiness.sh"]
    liveness = config_file(catalogue, "prod", "mariadb", "mariadb-etc", "liveness.sh")
    assert "sst_in_progress" in liveness and "wsrep_cluster_status" in liveness
    start = config_file(catalogue, "prod", "mariadb", "mariadb-etc", "start.sh")
    assert "REPLICAS=3" in start and "--wsrep-recover" in start and "safe_to_bootstrap: 1" in start
    assert "REPLICAS=1" in config_file(catalogue, "dev", "mariadb", "mariadb-etc", "start.sh")
    # The services' Service is the HAProxy front; the Galera pods answer only on the discovery Service.
    service = find(catalogue, "prod", "mariadb", "Service", "mariadb")
    proxy = find(catalogue, "prod", "mariadb", "Deployment", "mariadb-proxy")
    assert service["spec"]["selector"] == proxy["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] != sts["spec"]["template"]["metadata"]["labels"]
    assert find(catalogue, "prod", "mariadb", "Service", "mariadb-discovery")["spec"]["publishNotReadyAddresses"] is True
    haproxy = config_file(catalogue, "prod", "mariadb", "mariadb-etc", "haproxy.cfg")
    servers = [line.split() for line in haproxy.splitlines() if line.strip().startswith("server ")]
    assert [s[1:] for s in servers] == [
        ["mariadb-0", "mariadb-0.mariadb-discovery.openstack.svc.cluster.local:3306"],
        ["mariadb-1", "mariadb-1.mariadb-discovery.openstack.svc.cluster.local:3306", "backup"],
        ["mariadb-2", "mariadb-2.mariadb-discovery.openstack.svc.cluster.local:3306", "backup"],
    ]
    assert "option allbackups" not in haproxy  # only the first backup takes clients
    assert "hold timeout 1h" in haproxy  # a DNS outage keeps the last addresses (tests/test_galera.py runs it)


def test_keystone_inventory_and_dependencies(catalogue: Path) -> None:
    assert compiled(catalogue, "prod").env.components["keystone"].depends_on == ["mariadb", "memcached"]
    jobs = ["keystone-db-init", "keystone-db-sync", "keystone-bootstrap"]
    expected = {("Deployment", "keystone-api"), ("Service", "keystone-api"), ("ConfigMap", "keystone-etc"), *RBAC("keystone-api")}
    for secret in ("keystone-db", "keystone-admin", "keystone-fernet-keys", "keystone-credential-keys"):
        expected |= {("Password", secret), ("ExternalSecret", secret)}
    for job in jobs:
        expected |= {("Job", job), *RBAC(job)}
    expected |= smoke_test("keystone") | {("ConfigMap", "keystone-bin")}
    for rotation in ("keystone-fernet-rotate", "keystone-credential-rotate"):  # no -wait suffix: they wait for nothing
        expected |= {("CronJob", rotation), ("ServiceAccount", rotation), ("Role", rotation), ("RoleBinding", rotation)}
    assert inventory(catalogue, "dev", "keystone") == expected
    assert inventory(catalogue, "prod", "keystone") == expected | {("PodDisruptionBudget", "keystone-api"), ("Ingress", "keystone-api")}


def test_keystone_wiring(catalogue: Path) -> None:
    conf = parse_ini(config_file(catalogue, "prod", "keystone", "keystone-etc", "keystone.conf"))
    assert conf["cache"]["memcache_servers"] == "memcached-0.memcached:11211,memcached-1.memcached:11211"
    assert conf["token"]["provider"] == "fernet"
    assert not conf.has_option("database", "connection")  # the credential arrives from its Secret
    api = find(catalogue, "prod", "keystone", "Deployment", "keystone-api")
    [main] = containers(api)
    assert env_of(main)["OS_DATABASE__CONNECTION"] == ("keystone-db", "connection")
    waits = dependency_waits(api)
    assert waits["services"] == ["mariadb", "memcached"]
    assert [job_base(catalogue, "prod", j) for j in waits["jobs"]] == ["keystone-bootstrap"]
    bootstrap = find(catalogue, "prod", "keystone", "Job", "keystone-bootstrap")
    [script] = [c["command"][-1] for c in containers(bootstrap)]
    assert "--bootstrap-public-url https://identity.openstack.example.com/v3" in script
    fernet = find(catalogue, "prod", "keystone", "Password", "keystone-fernet-keys")
    assert fernet["spec"]["secretKeys"] == ["0", "1", "2"] and fernet["spec"]["encoding"] == "base64url"
