"""The run's API server: applied objects, Secrets made by External Secrets, pods, endpoints, DNS."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from tests.e2e.dns import ClusterDNS
from tests.e2e.kubelet import Pod
from tests.e2e.network import Addresses, Rule, apply_rules, dns_names, write_in_place
from tests.e2e.objects import Key, Obj, RunError, key_of, labels_match
from tests.e2e.probes import port_number
from tests.e2e.scheduling import pod_hostname
from tests.e2e.secrets import materialise


class Cluster:
    """Objects as applied, plus what the controllers made of them."""

    def __init__(self, scratch: Path, namespace: str) -> None:
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self.namespace = namespace
        self.objects: dict[Key, Obj] = {}
        self.configmaps: dict[Key, dict[str, str]] = {}
        self.secrets: dict[Key, dict[str, str]] = {}
        self.passwords: dict[Key, Obj] = {}
        self.pods: dict[str, Pod] = {}
        self.addresses = Addresses()
        self._network_state: tuple[object, ...] = ()
        self._made: set[Key] = set()
        self.dns = ClusterDNS()
        self.resolv_conf = scratch / "resolv.conf"
        self.resolv_conf.write_text(self.dns.resolv_conf(namespace))
        self.client_hosts = scratch / "client-hosts"
        write_in_place(self.client_hosts, "127.0.0.1 localhost\n")

    def apply(self, obj: Obj) -> Key:
        """Store an object as `kubectl apply` would; ConfigMaps, Secrets and generators get their data."""
        key = key_of(obj, self.namespace)
        if key.kind == "Secret" and obj.get("data"):
            raise RunError(f"{key}: a Secret with data in the env repo (no secrets in git)")
        held = self.objects.get(key)
        if key.kind == "Job" and held is not None and held["spec"].get("template") != obj["spec"].get("template"):
            # the API server refuses it ("spec.template: field is immutable"): Argo CD's sync fails
            raise RunError(f"{key}: applied again with another pod template; a Job's template is immutable, "
                           "so a changed Job must get a new name")
        self.objects[key] = obj
        if key.kind == "ConfigMap":
            data = {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
            data.update({str(k): base64.b64decode(v).decode() for k, v in (obj.get("binaryData") or {}).items()})
            self.configmaps[key] = data
        elif key.kind == "Secret":
            self.secrets[key] = {str(k): str(v) for k, v in (obj.get("stringData") or {}).items()}
        elif key.kind == "Password":
            self.passwords[key] = obj
        return key

    def delete(self, key: Key) -> None:
        """Remove an object (a prune); a Secret an ExternalSecret made stays (creationPolicy Orphan)."""
        self.objects.pop(key, None)
        self.configmaps.pop(key, None)
        self.passwords.pop(key, None)
        self._made.discard(key)
        if key.kind == "Secret":
            self.secrets.pop(key, None)

    def reconcile_external_secrets(self) -> None:
        """External Secrets' controller: each ExternalSecret whose generator exists makes its Secret once."""
        for key, obj in list(self.objects.items()):
            if key.kind != "ExternalSecret" or key in self._made:
                continue
            gen = ((obj["spec"].get("dataFrom") or [{}])[0].get("sourceRef") or {}).get("generatorRef") or {}
            if Key("Password", key.namespace, str(gen.get("name"))) not in self.passwords:
                continue
            name, data = materialise(obj, self.passwords)
            target = Key("Secret", key.namespace, name)
            if target not in self.secrets:  # creationPolicy Orphan + CreatedOnce: never regenerated
                self.secrets[target] = data
            self._made.add(key)

    def external_secret_ready(self, key: Key) -> bool:
        return key in self._made

    # --- endpoints and DNS -------------------------------------------------------------------

    def services(self) -> list[tuple[Key, Obj]]:
        return [(k, o) for k, o in sorted(self.objects.items()) if k.kind == "Service"]

    def selected_pods(self, svc: Obj) -> list[Pod]:
        selector = {str(k): str(v) for k, v in ((svc.get("spec") or {}).get("selector") or {}).items()}
        return [p for p in self.pods.values()
                if p.view.namespace == key_of(svc, self.namespace).namespace
                and labels_match(selector, p.view.labels) and p.phase not in ("Succeeded", "Failed")]

    def endpoints(self, svc: Obj) -> list[Pod]:
        """The addresses of a Service's Endpoints: ready pods, or all pods with publishNotReadyAddresses."""
        publish_all = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        return [p for p in self.selected_pods(svc) if p.ready or (publish_all and p.containers_started())]

    def service_ready(self, namespace: str, name: str) -> bool:
        svc = self.objects.get(Key("Service", namespace, name))
        return svc is not None and bool(self.endpoints(svc))

    def _hosts_lines(self) -> list[str]:
        lines: list[str] = []
        for key, svc in self.services():
            spec = svc.get("spec") or {}
            if spec.get("clusterIP") != "None":
                lines.append(f"{self.addresses.service(str(key))} {' '.join(dns_names(key.name, key.namespace))}")
                continue
            for pod in self.endpoints(svc):
                lines.append(f"{pod.view.ip} {' '.join(dns_names(key.name, key.namespace))}")
                if pod.view.spec.get("subdomain") == key.name:
                    host = f"{pod.view.spec.get('hostname') or pod.name}.{key.name}"
                    lines.append(f"{pod.view.ip} {' '.join(dns_names(host, key.namespace))}")
        return lines

    def _rules(self) -> list[Rule]:
        rules: list[Rule] = []
        for key, svc in self.services():
            spec = svc.get("spec") or {}
            if spec.get("clusterIP") == "None":
                continue
            ready = [p for p in self.selected_pods(svc) if p.ready]
            for port in spec.get("ports") or []:
                target = port.get("targetPort", port["port"])
                eps = []
                for pod in ready:
                    try:
                        eps.append((pod.view.ip, self._container_port(pod, target)))
                    except RunError:
                        continue  # a named targetPort the pod lacks: no endpoint, as in Kubernetes
                rules.append((self.addresses.service(str(key)), int(port["port"]), str(port.get("protocol", "TCP")), eps))
        return rules

    @staticmethod
    def _container_port(pod: Pod, target: object) -> int:
        for c in pod.containers:
            try:
                return port_number(target, c.spec)
            except RunError:
                continue
        raise RunError(f"pod {pod.name} has no port {target!r}")

    def refresh_network(self) -> None:
        """Rewrite every pod's /etc/hosts and the Service rules when endpoints changed."""
        lines, rules = self._hosts_lines(), self._rules()
        state = (tuple(lines), tuple((r[0], r[1], r[2], tuple(r[3])) for r in rules), tuple(sorted(self.pods)))
        if state == self._network_state:
            return
        self._network_state = state
        apply_rules(rules)
        table: dict[str, list[str]] = {}
        for line in lines:
            ip, *names = line.split()
            for name in names:  # CoreDNS answers fully qualified names only; clients apply the search list
                if name.endswith(".cluster.local"):
                    table.setdefault(name, []).append(ip)
        self.dns.records = table
        write_in_place(self.client_hosts, "\n".join(["127.0.0.1 localhost", *lines, ""]))
        for pod in self.pods.values():
            own = pod_hostname(pod.view.spec, pod.name)
            sub = pod.view.spec.get("subdomain")
            fqdn = f" {own}.{sub}.{pod.view.namespace}.svc.cluster.local" if sub else ""
            text = "\n".join(["127.0.0.1 localhost", f"{pod.view.ip}{fqdn} {own}", *lines, ""])
            write_in_place(pod.hosts, text)

    def service_env(self, namespace: str) -> dict[str, str]:
        """Docker-link variables of every ClusterIP Service existing when a container starts."""
        env: dict[str, str] = {}
        for key, svc in self.services():
            spec = svc.get("spec") or {}
            if key.namespace != namespace or spec.get("clusterIP") == "None" or not spec.get("ports"):
                continue
            prefix = re.sub(r"[^A-Z0-9]", "_", key.name.upper())
            ip = self.addresses.service(str(key))
            ports = spec["ports"]
            env[f"{prefix}_SERVICE_HOST"], env[f"{prefix}_SERVICE_PORT"] = ip, str(ports[0]["port"])
            env[f"{prefix}_PORT"] = f"{str(ports[0].get('protocol', 'TCP')).lower()}://{ip}:{ports[0]['port']}"
            for p in ports:
                proto = str(p.get("protocol", "TCP"))
                if p.get("name"):
                    env[f"{prefix}_SERVICE_PORT_{re.sub(r'[^A-Z0-9]', '_', str(p['name']).upper())}"] = str(p["port"])
                base = f"{prefix}_PORT_{p['port']}_{proto}"
                env[base] = f"{proto.lower()}://{ip}:{p['port']}"
                env[f"{base}_PROTO"], env[f"{base}_PORT"], env[f"{base}_ADDR"] = proto.lower(), str(p["port"]), ip
        return env
