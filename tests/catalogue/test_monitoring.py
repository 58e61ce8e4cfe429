"""monitoring: database, message queue and memcached metrics behind Prometheus-annotated Services."""

from __future__ import annotations

from pathlib import Path

from .support import compiled, containers, dependency_waits, env_of, find, inventory, job_base, kustomize_build, objects

COMPONENT = "monitoring"


def test_inventory_prod(catalogue: Path) -> None:
    assert inventory(catalogue, "prod", COMPONENT) == {
        ("Deployment", "mysqld-exporter"),
        ("Service", "mysqld-exporter"),
        ("Password", "mysqld-exporter-db"),
        ("ExternalSecret", "mysqld-exporter-db"),
        ("Job", "mysqld-exporter-db-user"),
        ("ServiceAccount", "mysqld-exporter-db-user"),
        ("Role", "mysqld-exporter-db-user-wait"),
        ("RoleBinding", "mysqld-exporter-db-user-wait"),
        ("ServiceAccount", "mysqld-exporter"),
        ("Role", "mysqld-exporter-wait"),
        ("RoleBinding", "mysqld-exporter-wait"),
        ("Deployment", "memcached-exporter"),
        ("Service", "memcached-exporter"),
        ("Service", "rabbitmq-metrics"),
    }


def test_dependencies(catalogue: Path) -> None:
    assert compiled(catalogue, "prod").env.components[COMPONENT].depends_on == ["mariadb", "rabbitmq", "memcached"]


def test_only_builtin_kinds_besides_external_secrets(catalogue: Path) -> None:
    for body in objects(catalogue, "prod", COMPONENT):
        group = body["apiVersion"].split("/")[0] if "/" in body["apiVersion"] else ""
        assert group in {"", "apps", "batch", "rbac.authorization.k8s.io", "external-secrets.io", "generators.external-secrets.io"}
        assert body["kind"] not in {"ServiceMonitor", "PodMonitor", "Secret"}


def test_scrape_annotations(catalogue: Path) -> None:
    expected = {"mysqld-exporter": "9104", "memcached-exporter": "9150", "rabbitmq-metrics": "15692"}
    for name, port in expected.items():
        service = find(catalogue, "prod", COMPONENT, "Service", name)
        notes = service["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true"
        assert notes["prometheus.io/port"] == port
        assert notes["prometheus.io/path"] == "/metrics"
        assert [p["port"] for p in service["spec"]["ports"]] == [int(port)]


def test_rabbitmq_metrics_reach_every_node(catalogue: Path) -> None:
    service = find(catalogue, "prod", COMPONENT, "Service", "rabbitmq-metrics")
    assert service["spec"]["clusterIP"] == "None"
    broker = find(catalogue, "prod", "rabbitmq", "StatefulSet", "rabbitmq")
    assert service["spec"]["selector"] == broker["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in containers(broker)[0]["ports"]}


def test_mysqld_exporter_account(catalogue: Path) -> None:
    job = find(catalogue, "prod", COMPONENT, "Job", "mysqld-exporter-db-user")
    (client,) = containers(job)
    script = client["command"][-1]
    assert "GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO '$EXPORTER_USER'@'%';" in script
    assert "ALL PRIVILEGES" not in script
    env = env_of(client)
    assert env["ROOT_PASSWORD"] == ("mariadb-root", "password")
    assert env["EXPORTER_PASSWORD"] == ("mysqld-exporter-db", "password")
    assert env["EXPORTER_USER"] == "exporter"
    exporter = find(catalogue, "prod", COMPONENT, "Deployment", "mysqld-exporter")
    waits = dependency_waits(exporter)
    assert waits["services"] == ["mariadb"]
    assert [job_base(catalogue, "prod", j) for j in waits["jobs"]] == ["mysqld-exporter-db-user"]
    (server,) = containers(exporter)
    assert "--mysqld.address=mariadb:3306" in server["args"]
    assert "--mysqld.username=exporter" in server["args"]
    assert env_of(server) == {"MYSQLD_EXPORTER_PASSWORD": ("mysqld-exporter-db", "password")}


def test_memcached_exporter(catalogue: Path) -> None:
    (server,) = containers(find(catalogue, "prod", COMPONENT, "Deployment", "memcached-exporter"))
    assert "--memcached.address=memcached:11211" in server["args"]


def test_prod_tree_with_monitoring_builds(catalogue: Path, tmp_path: Path) -> None:
    assert "name: rabbitmq-metrics" in kustomize_build(catalogue, "prod", tmp_path)
