"""openvswitch: the node-local switch (ovsdb-server + ovs-vswitchd) on network and compute nodes."""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .support import compiled, config_file, containers, find, inventory
from .workloads import check_volumes, config_keys, host_paths, mounted_files, node_label_sets, pod

COMPONENT = "openvswitch"


def test_inventory(catalogue: Path) -> None:
    expected = {("DaemonSet", "openvswitch"), ("ConfigMap", "openvswitch-etc")}
    assert inventory(catalogue, "prod", COMPONENT) == expected
    assert inventory(catalogue, "dev", COMPONENT) == expected


def test_dependencies(catalogue: Path) -> None:
    comp = compiled(catalogue, "prod").env.components[COMPONENT]
    assert comp.depends_on == []
    assert comp.wave == 0


def test_daemonset_on_network_and_compute_nodes(catalogue: Path) -> None:
    ds = find(catalogue, "prod", COMPONENT, "DaemonSet", "openvswitch")
    spec = pod(ds)
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert node_label_sets(ds) == [{"openstack-network-node": "enabled"}, {"openstack-compute-node": "enabled"}]
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    assert host_paths(ds) == {"/run/openvswitch", "/lib/modules"}
    check_volumes(ds)


def test_containers(catalogue: Path) -> None:
    ds = find(catalogue, "prod", COMPONENT, "DaemonSet", "openvswitch")
    db, vswitchd = containers(ds)
    assert (db["name"], vswitchd["name"]) == ("ovsdb-server", "ovs-vswitchd")
    assert db["image"] == vswitchd["image"] == "quay.io/airshipit/openvswitch:ubuntu_noble-20260607"  # dated: no <release>- tag is published
    assert vswitchd["securityContext"]["privileged"] is True
    assert not db["securityContext"].get("privileged")
    assert "limits" not in vswitchd["resources"], "an OOM kill of ovs-vswitchd drops the node's datapath"
    db_mounts = {m["mountPath"] for m in db["volumeMounts"]}
    assert "/lib/modules" not in db_mounts and "/run/openvswitch" in db_mounts
    assert mounted_files(ds, "ovsdb-server") == {"/etc/openvswitch/ccp/ovsdb-server.sh": "ovsdb-server.sh"}
    assert mounted_files(ds, "ovs-vswitchd") == {"/etc/openvswitch/ccp/ovs-vswitchd.sh": "ovs-vswitchd.sh"}
    assert config_keys(ds, "openvswitch-etc") == {"ovsdb-server.sh", "ovs-vswitchd.sh"}


def test_scripts(catalogue: Path) -> None:
    db = config_file(catalogue, "prod", COMPONENT, "openvswitch-etc", "ovsdb-server.sh")
    assert "--remote=punix:/run/openvswitch/db.sock" in db
    assert "ovsdb-tool convert" in db  # schema upgrades with a new image
    assert "exec ovsdb-server" in db
    vswitchd = config_file(catalogue, "prod", COMPONENT, "openvswitch-etc", "ovs-vswitchd.sh")
    assert "modprobe openvswitch" in vswitchd and "modprobe vxlan" in vswitchd
    assert vswitchd.index("ovs-vsctl --db=\"unix:$SOCK\" --timeout=5 --no-wait show") < vswitchd.index("exec ovs-vswitchd")


def test_node_labels_follow_values(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  openvswitch: {}\n",
        "  openvswitch:\n    values:\n      node_labels: [{node-role.example.com/hypervisor: \"true\", rack: r1}]\n"))
    (result,) = compile_all(source_copy, ["dev"])
    (ds,) = [o.body for o in result.objects if o.component == COMPONENT and o.id.kind == "DaemonSet"]
    assert node_label_sets(ds) == [{"node-role.example.com/hypervisor": "true", "rack": "r1"}]
