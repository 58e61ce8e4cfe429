"""neutron: ML2/OVS server and RPC server, node agents, Jobs and every config file."""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .support import compiled, config_file, containers, env_of, find, inventory, job_base, objects, parse_ini, smoke_test
from .workloads import (
    check_volumes,
    config_keys,
    generated_secrets,
    host_paths,
    mounted_files,
    node_label_sets,
    oslo_files,
    pod,
    same_node_pods,
    secret_refs,
    waits,
    workloads,
)

COMPONENT = "neutron"
JOBS = ["neutron-db-init", "neutron-db-sync", "neutron-rabbit-init", "neutron-ks-register"]
AGENTS = ["neutron-openvswitch-agent", "neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent"]
NETWORK = [{"openstack-network-node": "enabled"}]
COMPUTE = [{"openstack-compute-node": "enabled"}]


def _rbac(name: str) -> set[tuple[str, str]]:
    return {("ServiceAccount", name), ("Role", name + "-wait"), ("RoleBinding", name + "-wait")}


def test_inventory_prod(catalogue: Path) -> None:
    expected = {
        ("Deployment", "neutron-server"),
        ("Deployment", "neutron-rpc-server"),
        ("Service", "neutron-server"),
        ("PodDisruptionBudget", "neutron-server"),
        ("PodDisruptionBudget", "neutron-rpc-server"),
        ("Ingress", "neutron-server"),
        ("ConfigMap", "neutron-etc"),
        *_rbac("neutron-server"),
        *_rbac("neutron-rpc-server"),
    }
    for agent in AGENTS:
        expected |= {("DaemonSet", agent), *_rbac(agent)}
    for secret in ("neutron-db", "neutron-rabbitmq", "neutron-keystone", "neutron-memcache", "neutron-metadata-proxy"):
        expected |= {("Password", secret), ("ExternalSecret", secret)}
    for job in JOBS:
        expected |= {("Job", job), *_rbac(job)}
    assert inventory(catalogue, "prod", COMPONENT) == expected | smoke_test(COMPONENT)


def test_dev_has_no_ha_or_ingress(catalogue: Path) -> None:
    kinds = {kind for kind, _ in inventory(catalogue, "dev", COMPONENT)}
    assert not kinds & {"PodDisruptionBudget", "Ingress"}
    for name in ("neutron-server", "neutron-rpc-server"):
        assert find(catalogue, "dev", COMPONENT, "Deployment", name)["spec"]["replicas"] == 1


def test_dependencies(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    comp = env.components[COMPONENT]
    assert comp.depends_on == ["mariadb", "rabbitmq", "memcached", "keystone", "openvswitch"]
    assert comp.wave > max(env.components[d].wave for d in comp.depends_on)


def test_server(catalogue: Path) -> None:
    server = find(catalogue, "prod", COMPONENT, "Deployment", "neutron-server")
    assert server["spec"]["replicas"] >= 2
    assert pod(server)["affinity"]["podAntiAffinity"]
    w = waits(server)
    assert w["services"] == ["mariadb", "rabbitmq", "memcached", "keystone-api"]
    assert sorted(job_base(catalogue, "prod", j) for j in w["jobs"]) == ["neutron-db-sync", "neutron-ks-register", "neutron-rabbit-init"]
    (api,) = containers(server)
    assert api["command"] == ["uwsgi", "--ini", "/etc/neutron/neutron-api-uwsgi.ini"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/healthcheck"
    env = env_of(api)
    assert env["OS_DATABASE__CONNECTION"] == ("neutron-db", "connection")
    assert env["OS_DEFAULT__TRANSPORT_URL"] == ("neutron-rabbitmq", "transport_url")
    assert env["OS_KEYSTONE_AUTHTOKEN__PASSWORD"] == ("neutron-keystone", "password")
    assert env["OS_NOVA__PASSWORD"] == ("neutron-keystone", "password")
    assert env["OS_PLACEMENT__PASSWORD"] == ("neutron-keystone", "password")
    # the API reads neutron.conf and ml2_conf.ini (its default OS_NEUTRON_CONFIG_FILES) and the paste file
    assert mounted_files(server, "neutron-server") == {
        "/etc/neutron/neutron.conf": "neutron.conf",
        "/etc/neutron/api-paste.ini": "api-paste.ini",
        "/etc/neutron/neutron-api-uwsgi.ini": "neutron-api-uwsgi.ini",
        "/etc/neutron/plugins/ml2/ml2_conf.ini": "ml2_conf.ini",
    }
    service = find(catalogue, "prod", COMPONENT, "Service", "neutron-server")
    assert service["spec"]["ports"] == [{"name": "http", "port": 9696, "targetPort": "http"}]


def test_rpc_server(catalogue: Path) -> None:
    rpc = find(catalogue, "prod", COMPONENT, "Deployment", "neutron-rpc-server")
    assert rpc["spec"]["replicas"] >= 2
    names = [c["name"] for c in containers(rpc)]
    assert names == ["neutron-rpc-server", "neutron-periodic-workers"]
    for container in containers(rpc):
        assert container["command"][0] == container["name"]
        assert container["command"][1:] == ["--config-file", "/etc/neutron/neutron.conf",
                                            "--config-file", "/etc/neutron/plugins/ml2/ml2_conf.ini"]
    assert config_keys(rpc, "neutron-etc") == {"neutron.conf", "ml2_conf.ini"}


def test_agents_placement_and_waits(catalogue: Path) -> None:
    ovs = find(catalogue, "prod", COMPONENT, "DaemonSet", "neutron-openvswitch-agent")
    assert node_label_sets(ovs) == NETWORK + COMPUTE
    assert same_node_pods(ovs) == ["openvswitch"]
    for name in ("neutron-dhcp-agent", "neutron-l3-agent"):
        agent = find(catalogue, "prod", COMPONENT, "DaemonSet", name)
        assert node_label_sets(agent) == NETWORK
        assert same_node_pods(agent) == ["neutron-openvswitch-agent"]
    metadata = find(catalogue, "prod", COMPONENT, "DaemonSet", "neutron-metadata-agent")
    assert node_label_sets(metadata) == NETWORK
    for name in AGENTS:
        agent = find(catalogue, "prod", COMPONENT, "DaemonSet", name)
        spec = pod(agent)
        assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
        # no waits on Jobs: a renamed Job would roll every agent on every node
        assert waits(agent)["jobs"] == []
        assert waits(agent)["services"] == ["rabbitmq", "neutron-server"]
        assert env_of(containers(agent)[0])["OS_DEFAULT__TRANSPORT_URL"] == ("neutron-rabbitmq", "transport_url")
        role = find(catalogue, "prod", COMPONENT, "Role", name + "-wait")
        assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]} in role["rules"]


def test_agent_files_and_host_paths(catalogue: Path) -> None:
    expected = {
        "neutron-openvswitch-agent": ({"neutron.conf", "openvswitch_agent.ini", "agent-start.sh", "ovs-agent-init.sh"},
                                      {"/run/openvswitch", "/lib/modules", "/var/lib/neutron"}),
        "neutron-dhcp-agent": ({"neutron.conf", "dhcp_agent.ini", "agent-start.sh"},
                               {"/run/openvswitch", "/var/lib/neutron", "/run/netns"}),
        "neutron-l3-agent": ({"neutron.conf", "l3_agent.ini", "agent-start.sh"},
                             {"/run/openvswitch", "/lib/modules", "/var/lib/neutron", "/run/netns", "/run/xtables.lock"}),
        "neutron-metadata-agent": ({"neutron.conf", "metadata_agent.ini", "agent-start.sh"}, {"/var/lib/neutron"}),
    }
    for name, (files, paths) in expected.items():
        agent = find(catalogue, "prod", COMPONENT, "DaemonSet", name)
        assert config_keys(agent, "neutron-etc") == files, name
        assert host_paths(agent) == paths, name
        (container,) = containers(agent)
        assert container["command"][:3] == ["/bin/sh", "/etc/neutron/ccp/agent-start.sh", name]
        assert container["securityContext"]["runAsUser"] == 0
        assert container["securityContext"]["privileged"] is (name != "neutron-metadata-agent")
        config_args = [a for i, a in enumerate(container["command"]) if container["command"][i - 1] == "--config-file"]
        assert set(config_args) >= {"/etc/neutron/neutron.conf"}
        for path in config_args:
            assert path in mounted_files(agent, name) or path.startswith("/etc/neutron/node/"), (name, path)
    dhcp = find(catalogue, "prod", COMPONENT, "DaemonSet", "neutron-dhcp-agent")
    (netns,) = [m for m in containers(dhcp)[0]["volumeMounts"] if m["mountPath"] == "/run/netns"]
    assert netns["mountPropagation"] == "Bidirectional"  # namespaces made here must outlive the pod


def test_ovs_agent_node_config(catalogue: Path) -> None:
    ovs = find(catalogue, "prod", COMPONENT, "DaemonSet", "neutron-openvswitch-agent")
    (agent,) = containers(ovs)
    assert agent["command"][-2:] == ["--config-file", "/etc/neutron/node/tunnel.ini"]
    init = [c for c in pod(ovs)["initContainers"] if c["name"] == "ovs-agent-init"][0]
    (node_ip,) = init["env"]
    assert node_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    script = config_file(catalogue, "prod", COMPONENT, "neutron-etc", "ovs-agent-init.sh")
    assert "--may-exist add-br br-ex" in script
    assert "printf '[ovs]\\nlocal_ip = %s\\n' \"$tunnel_ip\" > /etc/neutron/node/tunnel.ini" in script
    start = config_file(catalogue, "prod", COMPONENT, "neutron-etc", "agent-start.sh")
    assert 'secure_path="/var/lib/openstack/bin:' in start and start.rstrip().endswith('exec "$@"')


def test_metadata_secret_shared_with_nova(catalogue: Path) -> None:
    metadata = find(catalogue, "prod", COMPONENT, "DaemonSet", "neutron-metadata-agent")
    env = env_of(containers(metadata)[0])
    assert env["OS_DEFAULT__METADATA_PROXY_SHARED_SECRET"] == ("neutron-metadata-proxy", "password")
    nova_metadata = [b for b in objects(catalogue, "prod", "nova") if b["metadata"]["name"] == "nova-metadata" and b["kind"] == "Deployment"][0]
    assert env_of(containers(nova_metadata)[0])["OS_NEUTRON__METADATA_PROXY_SHARED_SECRET"] == ("neutron-metadata-proxy", "password")


def test_jobs(catalogue: Path) -> None:
    sync = find(catalogue, "prod", COMPONENT, "Job", "neutron-db-sync")
    assert [job_base(catalogue, "prod", j) for j in waits(sync)["jobs"]] == ["neutron-db-init"]
    assert ("neutron-db-manage --config-file /etc/neutron/neutron.conf "
            "--config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads") in containers(sync)[0]["command"][-1]
    assert config_keys(sync, "neutron-etc") == {"neutron.conf", "ml2_conf.ini"}
    register = containers(find(catalogue, "prod", COMPONENT, "Job", "neutron-ks-register"))[0]["command"][-1]
    assert "--description \"OpenStack Networking\" network" in register
    assert "internal http://neutron-server:9696" in register
    assert "public https://network.openstack.example.com" in register
    rabbit = containers(find(catalogue, "prod", COMPONENT, "Job", "neutron-rabbit-init"))[0]["command"][-1]
    assert "declare vhost name=neutron" in rabbit


def test_config_files(catalogue: Path) -> None:
    files = oslo_files(catalogue, "prod", COMPONENT, "neutron-etc")
    assert set(files) == {"neutron.conf", "api-paste.ini", "neutron-api-uwsgi.ini", "ml2_conf.ini",
                          "openvswitch_agent.ini", "dhcp_agent.ini", "l3_agent.ini", "metadata_agent.ini"}
    neutron = files["neutron.conf"]
    assert neutron["DEFAULT"]["core_plugin"] == "ml2"
    assert neutron["DEFAULT"]["service_plugins"] == "router"
    assert neutron["DEFAULT"]["dhcp_agents_per_network"] == "2"  # prod
    assert neutron["keystone_authtoken"]["www_authenticate_uri"] == "https://identity.openstack.example.com"
    for section in ("keystone_authtoken", "nova", "placement"):
        assert neutron[section]["auth_url"] == "http://keystone-api:5000"
        assert neutron[section]["username"] == "neutron"
        assert "password" not in neutron[section]
    assert neutron["oslo_messaging_rabbit"]["rabbit_quorum_queue"] == "true"
    assert neutron["oslo_concurrency"]["lock_path"] == "/var/lib/neutron/tmp"
    assert "connection" not in neutron["database"]
    ml2 = files["ml2_conf.ini"]
    assert ml2["ml2"]["type_drivers"] == "flat,vlan,vxlan"
    assert ml2["ml2"]["mechanism_drivers"] == "openvswitch"
    assert ml2["ml2"]["project_network_types"] == "vxlan"  # formerly tenant_network_types
    assert ml2["ml2_type_flat"]["flat_networks"] == "physnet1"
    assert ml2["ml2_type_vlan"]["network_vlan_ranges"] == "physnet1"
    assert ml2["ml2_type_vxlan"]["vni_ranges"]
    ovs = files["openvswitch_agent.ini"]
    assert ovs["ovs"]["bridge_mappings"] == "physnet1:br-ex"
    assert ovs["ovs"]["ovsdb_connection"] == "unix:/run/openvswitch/db.sock"
    assert ovs["agent"]["tunnel_types"] == "vxlan"
    assert ovs["securitygroup"]["firewall_driver"] == "openvswitch"
    for agent in ("dhcp_agent.ini", "l3_agent.ini"):
        assert files[agent]["DEFAULT"]["interface_driver"] == "openvswitch"
        assert files[agent]["ovs"]["ovsdb_connection"] == "unix:/run/openvswitch/db.sock"
    assert files["dhcp_agent.ini"]["DEFAULT"]["enable_isolated_metadata"] == "true"
    metadata = files["metadata_agent.ini"]["DEFAULT"]
    assert (metadata["nova_metadata_host"], metadata["nova_metadata_port"]) == ("nova-metadata", "8775")
    assert "metadata_proxy_shared_secret" not in metadata
    paste = files["api-paste.ini"]
    assert paste["composite:neutron"]["/healthcheck"] == "healthcheck"
    for element in paste["composite:neutronapi_v2_0"]["keystone"].split()[:-1]:
        assert paste.has_section(f"filter:{element}"), element
    uwsgi = files["neutron-api-uwsgi.ini"]["uwsgi"]
    assert uwsgi["module"] == "neutron.wsgi.api:application" and uwsgi["http-socket"] == ":9696"


def test_provider_networks_and_tunnel_interface(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  neutron: {}\n",
        "  neutron:\n    values:\n      tunnel_interface: bond0.200\n      provider_networks:\n"
        "        - {physnet: external, bridge: br-ex, interface: bond1}\n"
        "        - {physnet: storage, bridge: br-storage}\n"))
    (result,) = compile_all(source_copy, ["dev"])
    (cm,) = [o.body for o in result.objects if o.component == COMPONENT and o.id.kind == "ConfigMap"]
    assert parse_ini(cm["data"]["openvswitch_agent.ini"])["ovs"]["bridge_mappings"] == "external:br-ex,storage:br-storage"
    assert parse_ini(cm["data"]["ml2_conf.ini"])["ml2_type_flat"]["flat_networks"] == "external,storage"
    script = cm["data"]["ovs-agent-init.sh"]
    assert "--may-exist add-port br-ex bond1" in script and "--may-exist add-br br-storage" in script
    assert "ip -4 -o addr show dev bond0.200" in script and "$NODE_IP" not in script


def test_workloads_are_consistent(catalogue: Path) -> None:
    secrets = generated_secrets(catalogue, "prod")
    for body in workloads(catalogue, "prod", COMPONENT):
        check_volumes(body)
        for name, key in secret_refs(body):
            assert key in secrets.get(name, set()), f"{body['metadata']['name']}: no generated Secret {name}/{key}"
    assert all(b["kind"] != "Secret" for b in objects(catalogue, "prod", COMPONENT))
