"""Workload controllers: Deployments, StatefulSets, DaemonSets (one node) and Jobs make pods."""

from __future__ import annotations

import hashlib
import json

from tests.e2e.cluster import Cluster
from tests.e2e.kubelet import Container, Pod
from tests.e2e.network import NODE_IP, Sandbox
from tests.e2e.objects import Key, Obj, RunError, match_labels
from tests.e2e.podspec import PodView
from tests.e2e.profiles import load_profile
from tests.e2e.scheduling import NODE, NODE_LABELS, fits_node

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
CRASH_LIMIT = 6


def _suffix(*parts: str, size: int = 5) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return "".join("bcdfghjklmnpqrstvwxz2456789"[int(digest[i:i + 2], 16) % 27] for i in range(0, 2 * size, 2))


class Controllers:
    """Turns applied workloads into pods and tells their health as Argo CD / kstatus would."""

    def __init__(self, cluster: Cluster, release: str) -> None:
        self.cluster = cluster
        self.release = release

    def _make_pod(self, owner: Key, name: str, template: Obj, extra: dict[str, str],
                  hostname: tuple[str, str] | None = None, claims: list[str] | None = None) -> Pod:
        spec = dict(template.get("spec") or {})
        if hostname:
            spec["hostname"], spec["subdomain"] = hostname
        pod_dir = self.cluster.scratch / "pods" / name
        (pod_dir / "logs").mkdir(parents=True, exist_ok=True)
        pvc_dirs = {c: self.cluster.scratch / "pvc" / f"{c}-{name}" for c in claims or []}
        for vol in spec.get("volumes") or []:
            if "persistentVolumeClaim" in vol:
                claim = str(vol["persistentVolumeClaim"]["claimName"])
                pvc_dirs[claim] = self.cluster.scratch / "pvc" / claim
        labels = {**{str(k): str(v) for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()}, **extra}
        host_network = bool(spec.get("hostNetwork"))
        ip = NODE_IP if host_network else self.cluster.addresses.pod(name)
        view = PodView(name=name, namespace=owner.namespace, ip=ip, node=NODE,
                       labels=labels, spec=spec, dir=pod_dir, pvc_dirs=pvc_dirs,
                       configmaps=self.cluster.configmaps, secrets=self.cluster.secrets,
                       service_env=self.cluster.service_env(owner.namespace))

        def containers(field: str) -> list[Container]:
            out = []
            for c in spec.get(field) or []:
                try:
                    profile = load_profile(str(c["image"]), self.release)
                except RunError as exc:
                    raise RunError(f"pod {name} ({owner}), container {c['name']}: {exc}") from exc
                out.append(Container(spec=c, profile=profile, log=pod_dir / "logs" / f"{c['name']}.log"))
            return out

        pod = Pod(view=view, owner=owner, inits=containers("initContainers"), containers=containers("containers"),
                  hosts=pod_dir / "hosts", resolv=self.cluster.resolv_conf, sandbox=None if host_network else Sandbox(ip, name))
        pod.hosts.touch()
        self.cluster.pods[name] = pod
        return pod

    def owned(self, key: Key) -> list[Pod]:
        return [p for p in self.cluster.pods.values() if p.owner == key]

    def sync(self) -> None:
        """Create the pods every applied workload wants."""
        for key, obj in sorted(self.cluster.objects.items()):
            if key.kind in WORKLOADS:
                getattr(self, f"_sync_{key.kind.lower()}")(key, obj)

    def _sync_deployment(self, key: Key, obj: Obj) -> None:
        spec = obj["spec"]
        match_labels(spec.get("selector"))
        template_hash = hashlib.sha256(json.dumps(spec["template"], sort_keys=True).encode()).hexdigest()[:10]
        for i in range(len(self.owned(key)), int(spec.get("replicas", 1))):
            name = f"{key.name}-{_suffix(template_hash, size=9)}-{_suffix(key.name, str(i))}"
            self._make_pod(key, name, spec["template"], {"pod-template-hash": template_hash[:9]})

    def _sync_statefulset(self, key: Key, obj: Obj) -> None:
        spec = obj["spec"]
        claims = [str(t["metadata"]["name"]) for t in spec.get("volumeClaimTemplates") or []]
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        for i in range(int(spec.get("replicas", 1))):
            name = f"{key.name}-{i}"
            if name in self.cluster.pods:
                continue
            if ordered and i > 0 and not self.cluster.pods[f"{key.name}-{i - 1}"].ready:
                return
            extra = {"statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(i)}
            self._make_pod(key, name, spec["template"], extra, (name, str(spec.get("serviceName", ""))), claims)

    def _sync_daemonset(self, key: Key, obj: Obj) -> None:
        if not self.owned(key) and fits_node(obj["spec"]["template"].get("spec") or {}):
            self._make_pod(key, f"{key.name}-{_suffix(key.name)}", obj["spec"]["template"], {})

    def job_failures(self, key: Key) -> int:
        pods = self.owned(key)
        if not pods:
            return 0
        policy = pods[0].restart_policy
        if policy == "Never":
            return sum(1 for p in pods if p.phase == "Failed")
        return sum(p.restarts() for p in pods) + sum(1 for p in pods if p.phase == "Failed")

    def job_succeeded(self, key: Key) -> bool:
        return any(p.phase == "Succeeded" for p in self.owned(key))

    def _sync_job(self, key: Key, obj: Obj) -> None:
        pods = self.owned(key)
        if self.job_succeeded(key) or self.job_failures(key) > int(obj["spec"].get("backoffLimit", 6)):
            return
        if all(p.phase == "Failed" for p in pods):
            name = f"{key.name}-{_suffix(key.name, str(len(pods)))}"
            self._make_pod(key, name, obj["spec"]["template"], {"job-name": key.name, "batch.kubernetes.io/job-name": key.name})

    def health(self, key: Key, obj: Obj) -> tuple[bool, str]:
        """Healthy or not, and why (Argo CD's health of the kind / kstatus)."""
        if key.kind == "Job":
            limit = int(obj["spec"].get("backoffLimit", 6))
            if self.job_failures(key) > limit:
                raise RunError(f"Job {key.name} failed: its pod {self.owned(key)[-1].name} failed "
                               f"{self.job_failures(key)} times (backoffLimit {limit})")
            return self.job_succeeded(key), "complete" if self.job_succeeded(key) else "running"
        if key.kind in ("Deployment", "StatefulSet", "DaemonSet"):
            fits = fits_node(obj["spec"]["template"].get("spec") or {})
            if key.kind == "DaemonSet":
                want = 1 if fits else 0
            elif not fits:
                raise RunError(f"{key}: its pods fit no node of the run (nodeSelector/affinity: "
                               f"labels {sorted(NODE_LABELS)})")
            else:
                want = int(obj["spec"].get("replicas", 1))
            pods = self.owned(key)
            for pod in pods:
                if pod.restarts() > CRASH_LIMIT and not pod.ready:
                    raise RunError(f"pod {pod.name} ({key}) keeps crashing: {pod.restarts()} restarts, never ready")
            ready = sum(1 for p in pods if p.ready)
            return ready >= want, f"{ready}/{want} ready"
        if key.kind == "ExternalSecret":
            return self.cluster.external_secret_ready(key), "secret made"
        return True, "applied"
