"""libvirt: libvirtd on compute nodes, libvirtd.conf and qemu.conf rendered from conf."""

from __future__ import annotations

import configparser
from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .support import compiled, config_file, containers, find, inventory
from .workloads import check_volumes, config_keys, host_paths, mounted_files, node_label_sets, pod

COMPONENT = "libvirt"


def libvirt_conf(text: str) -> configparser.SectionProxy:
    """libvirt's `key = value` files have no sections: parse them under one."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string("[libvirt]\n" + text)
    return parser["libvirt"]


def test_inventory(catalogue: Path) -> None:
    expected = {("DaemonSet", "libvirt"), ("ConfigMap", "libvirt-etc")}
    assert inventory(catalogue, "prod", COMPONENT) == expected
    assert inventory(catalogue, "dev", COMPONENT) == expected


def test_dependencies(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    comp = env.components[COMPONENT]
    assert comp.depends_on == ["openvswitch"]
    assert comp.wave > env.components["openvswitch"].wave


def test_daemonset(catalogue: Path) -> None:
    ds = find(catalogue, "prod", COMPONENT, "DaemonSet", "libvirt")
    spec = pod(ds)
    assert spec["hostNetwork"] is True and spec["hostPID"] is True
    assert spec["automountServiceAccountToken"] is False
    assert node_label_sets(ds) == [{"openstack-compute-node": "enabled"}]
    (container,) = containers(ds)
    assert container["securityContext"]["privileged"] is True
    assert host_paths(ds) == {"/lib/modules", "/var/lib/libvirt", "/var/lib/nova", "/etc/libvirt/qemu",
                              "/run/libvirt", "/run/openvswitch", "/sys/fs/cgroup", "/var/log/libvirt"}
    (node_ip,) = [e for e in container["env"] if e["name"] == "NODE_IP"]
    assert node_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    assert mounted_files(ds, "libvirt") == {
        "/etc/libvirt/ccp/libvirtd.conf": "libvirtd.conf",
        "/etc/libvirt/ccp/libvirt.sh": "libvirt.sh",
        "/etc/libvirt/qemu.conf": "qemu.conf",
    }
    assert config_keys(ds, "libvirt-etc") == {"libvirtd.conf", "qemu.conf", "libvirt.sh"}
    check_volumes(ds)


def test_config_files(catalogue: Path) -> None:
    """The default opens no network port: libvirtd serves its UNIX socket only."""
    for env in ("dev", "prod"):
        libvirtd = libvirt_conf(config_file(catalogue, env, COMPONENT, "libvirt-etc", "libvirtd.conf"))
        assert libvirtd["listen_tcp"] == "0" and libvirtd["listen_tls"] == "0"
        assert not any(key.startswith(("tcp_", "auth_tcp", "tls_", "listen_addr")) for key in libvirtd)
        assert libvirtd["auth_unix_rw"] == '"none"'
        script = config_file(catalogue, env, COMPONENT, "libvirt-etc", "libvirt.sh")
        assert "libvirtd --listen" not in script and "listen_addr" not in script
        assert script.rstrip().endswith("exec libvirtd --config /etc/libvirt/node/libvirtd.conf")
    qemu = libvirt_conf(config_file(catalogue, "prod", COMPONENT, "libvirt-etc", "qemu.conf"))
    assert qemu["stdio_handler"] == '"file"'
    assert qemu["security_driver"] == '"none"'
    assert "default_tls_x509_cert_dir" not in qemu


def test_start_script(catalogue: Path) -> None:
    script = config_file(catalogue, "prod", COMPONENT, "libvirt-etc", "libvirt.sh")
    assert "echo $$ > /sys/fs/cgroup/ccp-libvirt/cgroup.procs" in script


def test_nova_migrates_only_over_tls(catalogue: Path) -> None:
    nova = configparser.ConfigParser(strict=False, interpolation=None)
    nova.read_string(config_file(catalogue, "prod", "nova", "nova-etc", "nova.conf"))
    assert nova["libvirt"]["live_migration_scheme"] == "tls"
    assert nova["libvirt"]["live_migration_with_native_tls"] == "true"
    assert "live_migration_uri" not in nova["libvirt"]


def test_migration_over_tls(source_copy: Path) -> None:
    """migration: tls -- TLS on the node's IP, client certificates verified, no plain TCP."""
    overlay = source_copy / "overlays" / "prod" / "env.yaml"
    text = overlay.read_text()
    assert "  libvirt: {}\n" in text
    overlay.write_text(text.replace("  libvirt: {}\n", "  libvirt:\n    values: {migration: tls, tls_secret: compute-tls}\n"))
    (result,) = compile_all(source_copy, ["prod"], check=False)
    objs = {(o.id.kind, o.id.name): o.body for o in result.objects if o.component == COMPONENT}
    data = objs[("ConfigMap", "libvirt-etc")]["data"]
    libvirtd = libvirt_conf(data["libvirtd.conf"])
    assert libvirtd["listen_tls"] == "1" and libvirtd["listen_tcp"] == "0"
    assert libvirtd["tls_port"] == '"16514"' and libvirtd["tls_no_verify_certificate"] == "0"
    assert libvirtd["auth_tls"] == '"none"'  # authentication is the client certificate
    assert libvirtd["ca_file"] == '"/etc/pki/CA/cacert.pem"'
    assert "auth_tcp" not in libvirtd and "tcp_port" not in libvirtd
    qemu = libvirt_conf(data["qemu.conf"])
    assert qemu["default_tls_x509_cert_dir"] == '"/etc/pki/qemu"' and qemu["default_tls_x509_verify"] == "1"
    script = data["libvirt.sh"]
    assert "printf 'listen_addr = \"%s\"\\n' \"$NODE_IP\" >> /etc/libvirt/node/libvirtd.conf" in script
    assert script.rstrip().endswith("exec libvirtd --listen --config /etc/libvirt/node/libvirtd.conf")
    ds = objs[("DaemonSet", "libvirt")]
    (tls,) = [v for v in pod(ds)["volumes"] if v["name"] == "tls"]
    assert tls["secret"]["secretName"] == "compute-tls"
    paths = {i["path"]: i["key"] for i in tls["secret"]["items"]}
    for path in ("libvirt/servercert.pem", "libvirt/clientcert.pem", "qemu/server-cert.pem", "qemu/client-cert.pem"):
        assert paths[path] == "tls.crt"
    assert paths["CA/cacert.pem"] == paths["qemu/ca-cert.pem"] == "ca.crt"
    (container,) = containers(ds)
    assert {"name": "tls", "mountPath": "/etc/pki", "readOnly": True} in container["volumeMounts"]


def test_conf_overrides_and_lists(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  libvirt: {}\n",
        "  libvirt:\n"
        "    conf:\n"
        "      qemu.conf:\n"
        "        qemu: {security_driver: null, cgroup_controllers: [cpu, memory], vnc_tls: true}\n"))
    (result,) = compile_all(source_copy, ["dev"])
    (cm,) = [o.body for o in result.objects if o.component == COMPONENT and o.id.kind == "ConfigMap"]
    qemu = libvirt_conf(cm["data"]["qemu.conf"])
    assert "security_driver" not in qemu
    assert qemu["cgroup_controllers"] == '["cpu", "memory"]'
    assert qemu["vnc_tls"] == "1"
