"""logging: Fluent Bit DaemonSet with cluster-wide read-only metadata RBAC and one configurable output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccp_gitops.compile.parallel import compile_all

from .support import compiled, config_file, containers, env_of, find, inventory

COMPONENT = "logging"


def sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Parse Fluent Bit's classic format: [SECTION] headers, indented `Key value` lines."""
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([A-Z]+)\]", line)
        if header:
            out.append((header.group(1), []))
            continue
        entry = re.fullmatch(r" {4}(\S+) (\S.*)", line)
        assert entry and out, f"not a Fluent Bit config line: {line!r}"
        out[-1][1].append((entry.group(1), entry.group(2)))
    return out


def named(parsed: list[tuple[str, list[tuple[str, str]]]], kind: str) -> list[dict[str, str]]:
    return [dict(options) for section, options in parsed if section == kind]


def test_inventory_prod(catalogue: Path) -> None:
    assert inventory(catalogue, "prod", COMPONENT) == {
        ("DaemonSet", "fluent-bit"),
        ("ConfigMap", "fluent-bit"),
        ("ServiceAccount", "fluent-bit"),
        ("ClusterRole", "ccp-logging-openstack"),
        ("ClusterRoleBinding", "ccp-logging-openstack"),
    }
    assert compiled(catalogue, "prod").env.components[COMPONENT].depends_on == []


def test_cluster_rbac_is_read_only_metadata(catalogue: Path) -> None:
    role = find(catalogue, "prod", COMPONENT, "ClusterRole", "ccp-logging-openstack")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}]
    binding = find(catalogue, "prod", COMPONENT, "ClusterRoleBinding", "ccp-logging-openstack")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fluent-bit", "namespace": "openstack"}]
    # a second environment in the same cluster gets its own cluster-scoped names
    assert ("ClusterRole", "ccp-logging-openstack-dev") in inventory(catalogue, "dev", COMPONENT)


def test_daemonset(catalogue: Path) -> None:
    ds = find(catalogue, "prod", COMPONENT, "DaemonSet", "fluent-bit")
    pod = ds["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == "fluent-bit"
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "2020"
    (server,) = containers(ds)
    mounts = {m["mountPath"]: m for m in server["volumeMounts"]}
    assert mounts["/var/log"]["readOnly"] is True
    assert mounts["/fluent-bit/etc/fluent-bit.conf"]["subPath"] == "fluent-bit.conf"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["varlog"]["hostPath"]["path"] == "/var/log"
    assert volumes["state"]["hostPath"]["path"] == "/var/lib/ccp-fluent-bit/openstack"
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    assert "env" not in server  # no output credentials configured


def test_config_loki(catalogue: Path) -> None:
    parsed = sections(config_file(catalogue, "prod", COMPONENT, "fluent-bit", "fluent-bit.conf"))
    (service,) = named(parsed, "SERVICE")
    assert service["HTTP_Server"] == "On" and service["HTTP_Port"] == "2020"
    (tail,) = named(parsed, "INPUT")
    assert tail["Name"] == "tail"
    assert tail["Path"] == "/var/log/containers/*_openstack_*.log"
    assert tail["multiline.parser"] == "docker, cri"
    assert tail["DB"].startswith("/var/lib/fluent-bit/")
    filters = {f["Name"]: f for f in named(parsed, "FILTER")}
    assert filters["kubernetes"]["Kube_URL"] == "https://kubernetes.default.svc:443"
    (output,) = named(parsed, "OUTPUT")
    assert output["Name"] == "loki"
    assert output["Host"] == "loki-gateway.logging.svc" and output["Port"] == "80"
    assert output["tenant_id"] == "openstack-prod"
    assert "HTTP_User" not in output


@pytest.mark.parametrize(
    ("output", "name", "expected"),
    [
        ("{type: es, host: es.logging.svc, port: 9200, tls: true, index_prefix: osdev, auth_secret: es-writer}",
         "es", {"Logstash_Prefix": "osdev", "tls": "On", "tls.verify": "On", "HTTP_User": "${OUTPUT_USERNAME}"}),
        ("{type: http, host: collector.example.net, port: 8080, uri: /ingest}",
         "http", {"URI": "/ingest", "Format": "json_lines", "tls": "Off"}),
    ],
)
def test_other_outputs(source_copy: Path, output: str, name: str, expected: dict[str, str]) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace("  logging: {}\n", f"  logging:\n    values:\n      output: {output}\n"))
    (result,) = compile_all(source_copy, ["dev"])
    bodies = {(o.id.kind, o.id.name): o.body for o in result.objects if o.component == COMPONENT}
    (out,) = named(sections(bodies[("ConfigMap", "fluent-bit")]["data"]["fluent-bit.conf"]), "OUTPUT")
    assert out["Name"] == name
    assert expected.items() <= out.items()
    server = bodies[("DaemonSet", "fluent-bit")]["spec"]["template"]["spec"]["containers"][0]
    if "HTTP_User" in expected:
        assert env_of(server) == {"OUTPUT_USERNAME": ("es-writer", "username"), "OUTPUT_PASSWORD": ("es-writer", "password")}


def test_output_host_cannot_inject_config(source_copy: Path) -> None:
    from ccp_gitops.model.problems import InputError

    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  logging: {}\n", "  logging:\n    values:\n      output: {type: loki, host: \"x\\n[OUTPUT]\", port: 80}\n"))
    with pytest.raises(InputError) as err:
        compile_all(source_copy, ["dev"])
    assert "values.output.host" in str(err.value.problems[0])
