"""nova: control-plane Deployments, nova-compute on compute nodes, cells, Jobs and nova.conf."""

from __future__ import annotations

import subprocess
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

COMPONENT = "nova"
DEPLOYMENTS = ["nova-api", "nova-metadata", "nova-conductor", "nova-scheduler", "nova-novncproxy"]
SERVICES = {"nova-api": 8774, "nova-metadata": 8775, "nova-novncproxy": 6080}
JOBS = ["nova-db-init", "nova-db-sync", "nova-rabbit-init", "nova-ks-register", "nova-cell-setup"]


def _rbac(name: str) -> set[tuple[str, str]]:
    return {("ServiceAccount", name), ("Role", name + "-wait"), ("RoleBinding", name + "-wait")}


def test_inventory_prod(catalogue: Path) -> None:
    expected = {
        ("DaemonSet", "nova-compute"), *_rbac("nova-compute"),
        ("CronJob", "nova-cell-setup"),
        ("ConfigMap", "nova-etc"),
        ("Ingress", "nova-api"), ("Ingress", "nova-novncproxy"),
    }
    for name in DEPLOYMENTS:
        expected |= {("Deployment", name), ("PodDisruptionBudget", name), *_rbac(name)}
    expected |= {("Service", name) for name in SERVICES}
    for secret in ("nova-db", "nova-rabbitmq", "nova-keystone", "nova-memcache"):
        expected |= {("Password", secret), ("ExternalSecret", secret)}
    for job in JOBS:
        expected |= {("Job", job), *_rbac(job)}
    assert inventory(catalogue, "prod", COMPONENT) == expected | smoke_test(COMPONENT)


def test_dev_inventory(catalogue: Path) -> None:
    kinds = {kind for kind, _ in inventory(catalogue, "dev", COMPONENT)}
    assert not kinds & {"PodDisruptionBudget", "Ingress"}
    for name in DEPLOYMENTS:
        deployment = find(catalogue, "dev", COMPONENT, "Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        assert "affinity" not in pod(deployment)


def test_dependencies(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    comp = env.components[COMPONENT]
    assert comp.depends_on == ["mariadb", "rabbitmq", "memcached", "keystone", "glance", "placement", "neutron", "libvirt"]
    assert comp.wave > max(env.components[d].wave for d in comp.depends_on)
    assert comp.wave == max(c.wave for c in env.components.values() if c.name not in ("horizon", "monitoring", "logging"))


def test_prod_control_plane_is_redundant(catalogue: Path) -> None:
    for name in DEPLOYMENTS:
        deployment = find(catalogue, "prod", COMPONENT, "Deployment", name)
        assert deployment["spec"]["replicas"] >= 2, name
        term = pod(deployment)["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        pdb = find(catalogue, "prod", COMPONENT, "PodDisruptionBudget", name)
        assert pdb["spec"]["maxUnavailable"] == 1


def test_deployments(catalogue: Path) -> None:
    expected = {
        "nova-api": (["uwsgi", "--ini", "/etc/nova/nova-api-uwsgi.ini"], {"nova.conf", "api-paste.ini", "nova-api-uwsgi.ini"}),
        "nova-metadata": (["uwsgi", "--ini", "/etc/nova/nova-metadata-uwsgi.ini"], {"nova.conf", "api-paste.ini", "nova-metadata-uwsgi.ini"}),
        "nova-conductor": (["nova-conductor", "--config-file", "/etc/nova/nova.conf"], {"nova.conf"}),
        "nova-scheduler": (["nova-scheduler", "--config-file", "/etc/nova/nova.conf"], {"nova.conf"}),
        "nova-novncproxy": (["nova-novncproxy", "--config-file", "/etc/nova/nova.conf"], {"nova.conf"}),
    }
    for name, (command, files) in expected.items():
        deployment = find(catalogue, "prod", COMPONENT, "Deployment", name)
        (container,) = containers(deployment)
        assert container["command"] == command, name
        assert config_keys(deployment, "nova-etc") == files, name
        assert set(mounted_files(deployment, name)) == {f"/etc/nova/{f}" for f in files}, name
        env = env_of(container)
        assert env["OS_DATABASE__CONNECTION"] == ("nova-db", "connection")
        assert env["OS_API_DATABASE__CONNECTION"] == ("nova-db", "api_connection")
        assert env["OS_DEFAULT__TRANSPORT_URL"] == ("nova-rabbitmq", "transport_url")
        assert pod(deployment)["securityContext"]["runAsNonRoot"] is True
        if name in SERVICES:
            assert container["ports"] == [{"name": "http", "containerPort": SERVICES[name]}]
            service = find(catalogue, "prod", COMPONENT, "Service", name)
            assert service["spec"]["ports"] == [{"name": "http", "port": SERVICES[name], "targetPort": "http"}]
            assert "readinessProbe" in container
    api = env_of(containers(find(catalogue, "prod", COMPONENT, "Deployment", "nova-api"))[0])
    assert api["OS_KEYSTONE_AUTHTOKEN__PASSWORD"] == ("nova-keystone", "password")
    assert api["OS_PLACEMENT__PASSWORD"] == api["OS_NEUTRON__PASSWORD"] == api["OS_SERVICE_USER__PASSWORD"] == ("nova-keystone", "password")
    metadata = env_of(containers(find(catalogue, "prod", COMPONENT, "Deployment", "nova-metadata"))[0])
    assert metadata["OS_NEUTRON__METADATA_PROXY_SHARED_SECRET"] == ("neutron-metadata-proxy", "password")


def test_control_plane_waits(catalogue: Path) -> None:
    def job_waits(name: str) -> list[str]:
        body = find(catalogue, "prod", COMPONENT, "Deployment", name)
        return sorted(job_base(catalogue, "prod", j) for j in waits(body)["jobs"])

    assert job_waits("nova-api") == ["nova-db-sync", "nova-ks-register", "nova-rabbit-init"]
    for name in ("nova-metadata", "nova-conductor", "nova-scheduler"):
        assert job_waits(name) == ["nova-db-sync", "nova-rabbit-init"]
    assert job_waits("nova-novncproxy") == ["nova-db-sync"]
    scheduler = find(catalogue, "prod", COMPONENT, "Deployment", "nova-scheduler")
    assert "placement-api" in waits(scheduler)["services"]


def test_compute(catalogue: Path) -> None:
    ds = find(catalogue, "prod", COMPONENT, "DaemonSet", "nova-compute")
    spec = pod(ds)
    assert spec["hostNetwork"] is True and spec["hostPID"] is True
    assert node_label_sets(ds) == [{"openstack-compute-node": "enabled"}]
    w = waits(ds)
    assert same_node_pods(ds) == ["libvirt", "neutron-openvswitch-agent"]
    assert {"labels": {"app.kubernetes.io/name": "nova-conductor"}, "requireSameNode": False} in w["pods"]
    assert w["jobs"] == []  # a renamed Job would restart nova-compute on every node
    assert set(w["services"]) >= {"rabbitmq", "placement-api", "neutron-server", "glance-api"}
    (container,) = containers(ds)
    assert container["securityContext"]["privileged"] is True
    assert container["command"] == ["/bin/sh", "/etc/nova/ccp/nova-compute.sh"]
    env = env_of(container)
    assert "OS_DATABASE__CONNECTION" not in env and "OS_API_DATABASE__CONNECTION" not in env  # computes reach the DB through conductor
    assert env["OS_DEFAULT__TRANSPORT_URL"] == ("nova-rabbitmq", "transport_url")
    node_ip = {e["name"] for e in container["env"] if (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "status.hostIP"}
    assert node_ip == {"OS_DEFAULT__MY_IP", "OS_VNC__SERVER_PROXYCLIENT_ADDRESS", "OS_LIBVIRT__LIVE_MIGRATION_INBOUND_ADDR"}
    assert config_keys(ds, "nova-etc") == {"nova.conf", "nova-compute.sh"}
    assert host_paths(ds) == {"/lib/modules", "/var/lib/nova", "/var/lib/libvirt", "/run/libvirt", "/run/openvswitch"}
    (instances,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/var/lib/nova"]
    assert instances["mountPropagation"] == "Bidirectional"
    script = config_file(catalogue, "prod", COMPONENT, "nova-etc", "nova-compute.sh")
    assert 'secure_path="/var/lib/openstack/bin:' in script
    assert script.rstrip().endswith("exec nova-compute --config-file /etc/nova/nova.conf")


def test_compute_nodes_run_libvirt_and_ovs(catalogue: Path) -> None:
    """nova-compute waits for libvirt and the OVS agent on its node: they must run there too."""
    compute = node_label_sets(find(catalogue, "prod", COMPONENT, "DaemonSet", "nova-compute"))
    libvirt = node_label_sets(find(catalogue, "prod", "libvirt", "DaemonSet", "libvirt"))
    ovs_agent = node_label_sets(find(catalogue, "prod", "neutron", "DaemonSet", "neutron-openvswitch-agent"))
    switch = node_label_sets(find(catalogue, "prod", "openvswitch", "DaemonSet", "openvswitch"))
    for labels in compute:
        assert labels in libvirt and labels in ovs_agent and labels in switch
    for labels in ovs_agent:
        assert labels in switch


def test_fake_driver_compute_waits_for_no_node_pods(source_copy: Path) -> None:
    """Nova's fake driver starts no guest and plugs no port: nova-compute waits for neither libvirt
    nor the OVS agent (the e2e environment runs it so)."""
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  nova: {}\n", "  nova:\n    conf:\n      nova.conf:\n        DEFAULT: {compute_driver: fake.FakeDriver}\n"))
    (result,) = compile_all(source_copy, ["dev"])
    (ds,) = [o.body for o in result.objects if o.component == COMPONENT and o.id.kind == "DaemonSet"]
    assert same_node_pods(ds) == []
    assert waits(ds)["pods"] == [{"labels": {"app.kubernetes.io/name": "nova-conductor"}, "requireSameNode": False}]


def test_db_init_one_user_three_databases(catalogue: Path) -> None:
    init = find(catalogue, "prod", COMPONENT, "Job", "nova-db-init")
    script = containers(init)[0]["command"][-1]
    for db in ("nova", "nova_api", "nova_cell0"):
        assert f"CREATE DATABASE IF NOT EXISTS \\`{db}\\` CHARACTER SET utf8mb4;" in script
        assert f"GRANT ALL PRIVILEGES ON \\`{db}\\`.* TO 'nova'@'%';" in script
    assert env_of(containers(init)[0])["USER_PASSWORD"] == ("nova-db", "password")
    secrets = generated_secrets(catalogue, "prod")
    assert secrets["nova-db"] == {"password", "connection", "api_connection"}
    (es,) = [b for b in objects(catalogue, "prod", COMPONENT) if b["kind"] == "ExternalSecret" and b["metadata"]["name"] == "nova-db"]
    data = es["spec"]["target"]["template"]["data"]
    assert data["connection"].endswith("@mariadb:3306/nova?charset=utf8mb4")
    assert data["api_connection"].endswith("@mariadb:3306/nova_api?charset=utf8mb4")


def test_db_sync_and_cells(catalogue: Path) -> None:
    sync = find(catalogue, "prod", COMPONENT, "Job", "nova-db-sync")
    assert [job_base(catalogue, "prod", j) for j in waits(sync)["jobs"]] == ["nova-db-init"]
    script = containers(sync)[0]["command"][-1]
    steps = ["$manage api_db sync", "$manage cell_v2 map_cell0", "$manage cell_v2 list_cells", "$manage cell_v2 create_cell --name cell1", "$manage db sync"]
    positions = [script.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "cell_v2 update_cell --cell_uuid \"$cell1\"" in script  # a rerun converges instead of failing
    env = env_of(containers(sync)[0])
    assert env["CELL0_DB"] == "{scheme}://{username}:{password}@{hostname}:{port}/{path}_cell0?{query}"
    assert env["CELL1_DB"] == "{scheme}://{username}:{password}@{hostname}:{port}/{path}?{query}"
    assert env["CELL1_MQ"] == "{scheme}://{username}:{password}@{hostname}:{port}/{path}"
    assert config_keys(sync, "nova-etc") == {"nova.conf"}


def test_cell_setup_job_and_cronjob(catalogue: Path) -> None:
    job = find(catalogue, "prod", COMPONENT, "Job", "nova-cell-setup")
    assert [job_base(catalogue, "prod", j) for j in waits(job)["jobs"]] == ["nova-db-sync"]
    # the first mapping waits for a nova-compute pod (any node), then until a host is in cell1 (the e2e
    # run found the Job mapping nothing: it ran before nova-compute, and the CronJob only 5 min later)
    assert waits(job)["pods"] == [{"labels": {"app.kubernetes.io/name": "nova-compute"}, "requireSameNode": False}]
    script = containers(job)[0]["command"][-1]
    assert 'manage="nova-manage --config-file /etc/nova/nova.conf"' in script
    assert "$manage cell_v2 discover_hosts --verbose" in script
    assert "if $manage cell_v2 list_hosts | grep -q '^| *cell1 *|'; then exit 0; fi" in script
    command = "nova-manage --config-file /etc/nova/nova.conf cell_v2 discover_hosts --verbose"
    cron = find(catalogue, "prod", COMPONENT, "CronJob", "nova-cell-setup")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["schedule"] == "*/5 * * * *"
    assert command in containers(cron)[0]["command"][-1]
    assert [job_base(catalogue, "prod", j) for j in waits(cron)["jobs"]] == ["nova-db-sync"]
    assert pod(cron)["serviceAccountName"] == "nova-cell-setup"


def test_ks_register_and_rabbit(catalogue: Path) -> None:
    register = containers(find(catalogue, "prod", COMPONENT, "Job", "nova-ks-register"))[0]["command"][-1]
    assert "openstack service create --name nova --description \"OpenStack Compute\" compute" in register
    assert "internal http://nova-api:8774/v2.1" in register
    assert "public https://compute.openstack.example.com/v2.1" in register
    # the role loop, run by a real shell, gives the service user each role (not one named "admin service")
    (loop,) = [line for line in register.splitlines() if line.startswith("for role in ")]
    roles = subprocess.run(["/bin/sh", "-c", loop + ' printf "%s\\n" "$role"; done'],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    assert roles == ["admin", "service", ""]
    rabbit = containers(find(catalogue, "prod", COMPONENT, "Job", "nova-rabbit-init"))[0]["command"][-1]
    assert "declare vhost name=nova" in rabbit


def test_nova_conf(catalogue: Path) -> None:
    files = oslo_files(catalogue, "prod", COMPONENT, "nova-etc")
    assert set(files) == {"nova.conf", "api-paste.ini", "nova-api-uwsgi.ini", "nova-metadata-uwsgi.ini"}
    conf = files["nova.conf"]
    assert "connection" not in conf["database"] and "connection" not in conf["api_database"]
    assert "transport_url" not in conf["DEFAULT"]
    auth = conf["keystone_authtoken"]
    assert (auth["auth_url"], auth["www_authenticate_uri"]) == ("http://keystone-api:5000", "https://identity.openstack.example.com")
    assert auth["username"] == "nova" and "password" not in auth
    for section in ("placement", "neutron", "service_user"):
        assert conf[section]["auth_type"] == "password"
        assert conf[section]["auth_url"] == "http://keystone-api:5000"
        assert conf[section]["username"] == "nova"
        assert "password" not in conf[section]
    assert conf["service_user"]["send_service_user_token"] == "true"
    assert conf["placement"]["region_name"] == conf["neutron"]["region_name"] == "RegionOne"
    assert conf["neutron"]["service_metadata_proxy"] == "true"
    assert "metadata_proxy_shared_secret" not in conf["neutron"]
    assert conf["glance"]["valid_interfaces"] == "internal"  # the catalogue finds glance-api, no deprecated api_servers
    vnc = conf["vnc"]
    assert vnc["enabled"] == "true"
    assert vnc["novncproxy_base_url"] == "https://novncproxy.openstack.example.com/vnc_lite.html"
    assert vnc["novncproxy_port"] == "6080"
    assert "server_proxyclient_address" not in vnc  # per node, from the environment
    assert conf["scheduler"]["discover_hosts_in_cells_interval"] == "-1"
    assert conf["oslo_concurrency"]["lock_path"] == "/var/lib/nova/tmp"
    assert conf["libvirt"]["virt_type"] == "kvm"
    assert conf["os_vif_ovs"]["ovsdb_connection"] == "unix:/run/openvswitch/db.sock"
    assert conf["cache"]["memcache_servers"] == "memcached-0.memcached:11211,memcached-1.memcached:11211"
    assert conf["wsgi"]["api_paste_config"] == "/etc/nova/api-paste.ini"
    dev = parse_ini(config_file(catalogue, "dev", COMPONENT, "nova-etc", "nova.conf"))
    assert dev["vnc"]["novncproxy_base_url"] == "http://novncproxy.openstack.example.com/vnc_lite.html"


def test_paste_and_uwsgi(catalogue: Path) -> None:
    files = oslo_files(catalogue, "prod", COMPONENT, "nova-etc")
    paste = files["api-paste.ini"]
    for composite in ("composite:openstack_compute_api_v21", "composite:openstack_compute_api_v21_legacy_v2_compatible"):
        elements = paste[composite]["keystone"].split()
        assert elements[-1] == "osapi_compute_app_v21" and paste.has_section("app:osapi_compute_app_v21")
        for element in elements[:-1]:
            assert paste.has_section(f"filter:{element}"), element
    assert paste["composite:metadata"]["/"] == "meta"
    api = files["nova-api-uwsgi.ini"]["uwsgi"]
    assert (api["module"], api["http-socket"]) == ("nova.wsgi.osapi_compute:application", ":8774")
    metadata = files["nova-metadata-uwsgi.ini"]["uwsgi"]
    assert (metadata["module"], metadata["http-socket"]) == ("nova.wsgi.metadata:application", ":8775")


def test_compute_node_labels_follow_values(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  nova: {}\n", "  nova:\n    values:\n      compute_node_labels: [{hypervisor: kvm}]\n      cell_setup_schedule: \"0 * * * *\"\n"))
    (result,) = compile_all(source_copy, ["dev"])
    bodies = {(o.id.kind, o.id.name): o.body for o in result.objects if o.component == COMPONENT}
    assert node_label_sets(bodies[("DaemonSet", "nova-compute")]) == [{"hypervisor": "kvm"}]
    assert bodies[("CronJob", "nova-cell-setup")]["spec"]["schedule"] == "0 * * * *"


def test_workloads_are_consistent(catalogue: Path) -> None:
    secrets = generated_secrets(catalogue, "prod")
    for body in workloads(catalogue, "prod", COMPONENT):
        check_volumes(body)
        for name, key in secret_refs(body):
            assert key in secrets.get(name, set()), f"{body['metadata']['name']}: no generated Secret {name}/{key}"
    assert all(b["kind"] != "Secret" for b in objects(catalogue, "prod", COMPONENT))
