"""rabbitmq: clustered StatefulSet, its Services, generated credentials and rabbitmq.conf."""

from __future__ import annotations

import re
from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .support import compiled, config_file, containers, env_of, find, inventory, objects

COMPONENT = "rabbitmq"


def test_inventory_prod(catalogue: Path) -> None:
    assert inventory(catalogue, "prod", COMPONENT) == {
        ("StatefulSet", "rabbitmq"),
        ("Service", "rabbitmq"),
        ("Service", "rabbitmq-nodes"),
        ("PodDisruptionBudget", "rabbitmq"),
        ("ConfigMap", "rabbitmq-etc"),
        ("Password", "rabbitmq-admin"),
        ("ExternalSecret", "rabbitmq-admin"),
        ("Password", "rabbitmq-erlang-cookie"),
        ("ExternalSecret", "rabbitmq-erlang-cookie"),
    }


def test_dev_has_no_pdb_and_one_node(catalogue: Path) -> None:
    kinds = {kind for kind, _ in inventory(catalogue, "dev", COMPONENT)}
    assert "PodDisruptionBudget" not in kinds
    sts = find(catalogue, "dev", COMPONENT, "StatefulSet", "rabbitmq")
    assert sts["spec"]["replicas"] == 1
    assert "lifecycle" not in containers(sts)[0], "a single node has no peer to drain to"


def test_no_dependencies_and_first_wave(catalogue: Path) -> None:
    comp = compiled(catalogue, "prod").env.components[COMPONENT]
    assert comp.depends_on == []
    assert comp.wave == 0


def test_prod_cluster_shape(catalogue: Path) -> None:
    sts = find(catalogue, "prod", COMPONENT, "StatefulSet", "rabbitmq")
    spec = sts["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == "rabbitmq-nodes"
    assert spec["podManagementPolicy"] == "Parallel"
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False  # k8s peer discovery (4.1+) needs no API access
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "rabbitmq"}
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    (server,) = containers(sts)
    assert {"name": "data", "mountPath": "/var/lib/rabbitmq"} in server["volumeMounts"]
    assert "preStop" in server["lifecycle"]
    assert pod["terminationGracePeriodSeconds"] > 600 + 240
    env = env_of(server)
    assert env["RABBITMQ_NODENAME"] == "rabbit@$(POD_NAME).rabbitmq-nodes.$(POD_NAMESPACE)"
    assert env["RABBITMQ_USE_LONGNAME"] == "true"
    # rabbit_init_job (base/templates/k8s.j2) logs in as `admin` with rabbitmq-admin/password
    assert env["RABBITMQ_DEFAULT_USER"] == "admin"
    assert env["RABBITMQ_DEFAULT_PASS"] == ("rabbitmq-admin", "password")
    (cookie,) = containers(sts, init=True)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["erlang-cookie"]["secret"]["secretName"] == "rabbitmq-erlang-cookie"
    assert "/var/lib/rabbitmq/.erlang.cookie" in cookie["command"][-1]
    annotations = spec["template"]["metadata"]["annotations"]
    assert "rabbitmq-etc/rabbitmq.conf=" in annotations["ccp-gitops.io/config-files"]


def test_services(catalogue: Path) -> None:
    client = find(catalogue, "prod", COMPONENT, "Service", "rabbitmq")
    assert {p["name"]: p["port"] for p in client["spec"]["ports"]} == {"amqp": 5672, "management": 15672, "prometheus": 15692}
    nodes = find(catalogue, "prod", COMPONENT, "Service", "rabbitmq-nodes")
    assert nodes["spec"]["clusterIP"] == "None"
    assert nodes["spec"]["publishNotReadyAddresses"] is True
    assert {p["port"] for p in nodes["spec"]["ports"]} >= {4369, 25672}
    sts = find(catalogue, "prod", COMPONENT, "StatefulSet", "rabbitmq")
    named = {p["name"] for p in containers(sts)[0]["ports"]}
    for svc in (client, nodes):
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= named


def test_credentials_generated_in_cluster(catalogue: Path) -> None:
    for body in objects(catalogue, "prod", COMPONENT):
        assert body["kind"] != "Secret"
    admin = find(catalogue, "prod", COMPONENT, "ExternalSecret", "rabbitmq-admin")
    assert admin["spec"]["target"]["template"]["data"] == {"password": "{{ .password }}"}
    assert admin["spec"]["refreshPolicy"] == "CreatedOnce"
    cookie = find(catalogue, "prod", COMPONENT, "ExternalSecret", "rabbitmq-erlang-cookie")
    assert cookie["spec"]["target"]["template"]["data"] == {"cookie": "{{ .password }}"}


def _conf(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-z0-9_.$-]+) = (\S.*)", line)
        assert match, f"not a rabbitmq.conf line: {line!r}"
        assert match.group(1) not in out, f"duplicate key {match.group(1)}"
        out[match.group(1)] = match.group(2)
    return out


def test_rabbitmq_conf(catalogue: Path) -> None:
    conf = _conf(config_file(catalogue, "prod", COMPONENT, "rabbitmq-etc", "rabbitmq.conf"))
    assert conf["cluster_formation.peer_discovery_backend"] == "k8s"
    assert conf["cluster_partition_handling"] == "pause_minority"
    assert conf["listeners.tcp.default"] == "5672"
    assert conf["management.tcp.port"] == "15672"
    assert conf["prometheus.tcp.port"] == "15692"
    # the container limit (4Gi in prod), not the host's memory, bounds the high watermark
    assert conf["total_memory_available_override_value"] == str(4 * 1024**3)
    assert conf["log.console"] == "true"
    dev = _conf(config_file(catalogue, "dev", COMPONENT, "rabbitmq-etc", "rabbitmq.conf"))
    assert dev["total_memory_available_override_value"] == str(512 * 1024**2)


def test_enabled_plugins(catalogue: Path) -> None:
    text = config_file(catalogue, "prod", COMPONENT, "rabbitmq-etc", "enabled_plugins").strip()
    assert re.fullmatch(r"\[[a-z0-9_]+(,[a-z0-9_]+)*\]\.", text), text
    assert set(text[1:-2].split(",")) >= {"rabbitmq_management", "rabbitmq_peer_discovery_k8s", "rabbitmq_prometheus"}


def test_config_override_and_removal(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    text = overlay.read_text().replace(
        "  rabbitmq:\n    values:\n",
        "  rabbitmq:\n    values:\n      config:\n        log.console.level: debug\n        loopback_users.guest: null\n",
    )
    overlay.write_text(text)
    (result,) = compile_all(source_copy, ["dev"])
    (cm,) = [o.body for o in result.objects if o.component == COMPONENT and o.id.kind == "ConfigMap"]
    conf = _conf(cm["data"]["rabbitmq.conf"])
    assert conf["log.console.level"] == "debug"
    assert "loopback_users.guest" not in conf
