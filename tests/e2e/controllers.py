"""Workload controllers: Deployments, StatefulSets, DaemonSets (one node) and Jobs make pods.

A changed pod template rolls the workload's pods as its controller would (tests/e2e/rolling.py);
a deleted workload's pods are terminated.
"""

from __future__ import annotations

import hashlib
import time

from tests.e2e.cluster import Cluster
from tests.e2e.kubelet import Container, Pod
from tests.e2e.network import NODE_IP, Sandbox
from tests.e2e.objects import Key, Obj, RunError, match_labels
from tests.e2e.podspec import PodView
from tests.e2e.profiles import load_profile
from tests.e2e.rolling import REVISION_LABEL, Terminating, begin_termination, deployment_budget, finished_terminating, is_current, old_pods_to_remove, revision, rolls
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
        self.terminating: dict[str, Terminating] = {}

    def _make_pod(self, owner: Key, name: str, template: Obj, extra: dict[str, str],
                  hostname: tuple[str, str] | None = None, claims: list[str] | None = None) -> Pod:
        spec = dict(template.get("spec") or {})
        if hostname:
            spec["hostname"], spec["subdomain"] = hostname
        pod_dir = self.cluster.scratch / "pods" / name
        incarnation = 1
        while pod_dir.exists():  # a StatefulSet pod made again under its name: a fresh container filesystem
            incarnation += 1
            pod_dir = self.cluster.scratch / "pods" / f"{name}.{incarnation}"
        (pod_dir / "logs").mkdir(parents=True, exist_ok=True)
        pvc_dirs = {c: self.cluster.scratch / "pvc" / f"{c}-{name}" for c in claims or []}
        for vol in spec.get("volumes") or []:
            if "persistentVolumeClaim" in vol:
                claim = str(vol["persistentVolumeClaim"]["claimName"])
                pvc_dirs[claim] = self.cluster.scratch / "pvc" / claim
        labels = {**{str(k): str(v) for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()}, **extra}
        host_network = bool(spec.get("hostNetwork"))
        # a pod made again under its name (StatefulSet) is a new pod with a new address, as IPAM gives
        # it: the old address's neighbours (ARP caches, a proxy's resolved server) must not reach it
        ip = NODE_IP if host_network else self.cluster.addresses.pod(pod_dir.name)
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
                  hosts=pod_dir / "hosts", resolv=self.cluster.resolv_conf, sandbox=None if host_network else Sandbox(ip, pod_dir.name))
        pod.hosts.touch()
        self.cluster.pods[name] = pod
        return pod

    def owned(self, key: Key) -> list[Pod]:
        """The pods of a workload, terminating ones included (they are its pods until gone)."""
        return ([p for p in self.cluster.pods.values() if p.owner == key]
                + [t.pod for t in self.terminating.values() if t.pod.owner == key])

    def delete_pod(self, pod: Pod) -> None:
        """Delete a pod: out of the endpoints at once, its containers terminated within their grace period."""
        if self.cluster.pods.get(pod.name) is pod:
            del self.cluster.pods[pod.name]
            self.terminating[pod.name] = begin_termination(pod, time.monotonic())

    def _reap(self) -> None:
        now = time.monotonic()
        for name, t in list(self.terminating.items()):
            if finished_terminating(t, now):
                del self.terminating[name]

    def sync(self) -> None:
        """Create the pods every applied workload wants, roll outdated ones, finish terminations."""
        self._reap()
        for key, obj in sorted(self.cluster.objects.items()):
            if key.kind in WORKLOADS:
                getattr(self, f"_sync_{key.kind.lower()}")(key, obj)

    def _sync_deployment(self, key: Key, obj: Obj) -> None:
        spec = obj["spec"]
        match_labels(spec.get("selector"))
        replicas, rev = int(spec.get("replicas", 1)), revision(spec["template"])
        pods = self.owned(key)
        current = [p for p in pods if is_current(p, key.kind, spec["template"])]
        old = [p for p in pods if p not in current]
        budget = deployment_budget(spec, replicas)
        live_old = [p for p in old if p.name in self.cluster.pods]
        if budget is None:  # Recreate: the old pods go first, the new come once none is left
            for pod in live_old:
                self.delete_pod(pod)
            room = 0 if old else replicas - len(current)
        else:
            surge, unavailable = budget
            ready = sum(1 for p in pods if p.ready)
            for pod in old_pods_to_remove(live_old, ready, replicas, unavailable):
                self.delete_pod(pod)
            room = min(replicas - len(current), replicas + surge - len(self.owned(key)))
        index = 0
        for _ in range(room):
            while (name := f"{key.name}-{_suffix(rev, size=9)}-{_suffix(key.name, str(index))}") in self.cluster.pods:
                index += 1
            self._make_pod(key, name, spec["template"], {REVISION_LABEL[key.kind]: rev})

    def _sync_statefulset(self, key: Key, obj: Obj) -> None:
        spec = obj["spec"]
        claims = [str(t["metadata"]["name"]) for t in spec.get("volumeClaimTemplates") or []]
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        replicas, rev = int(spec.get("replicas", 1)), revision(spec["template"])
        for i in range(replicas):
            name = f"{key.name}-{i}"
            if name in self.cluster.pods or name in self.terminating:
                continue
            before = self.cluster.pods.get(f"{key.name}-{i - 1}")
            if ordered and i > 0 and (before is None or not before.ready):
                return
            extra = {"statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(i),
                     REVISION_LABEL[key.kind]: rev}
            self._make_pod(key, name, spec["template"], extra, (name, str(spec.get("serviceName", ""))), claims)
        pods = [self.cluster.pods.get(f"{key.name}-{i}") for i in range(replicas)]
        if not rolls(key.kind, spec) or any(p is None or not p.ready for p in pods):
            return
        for pod in reversed(pods):  # highest ordinal first, one at a time, all others ready
            if pod is not None and not is_current(pod, key.kind, spec["template"]):
                self.delete_pod(pod)
                return

    def _sync_daemonset(self, key: Key, obj: Obj) -> None:
        template = obj["spec"]["template"]
        pods = self.owned(key)
        if rolls(key.kind, obj["spec"]):
            for pod in pods:
                if not is_current(pod, key.kind, template):
                    self.delete_pod(pod)
        if not self.owned(key) and fits_node(template.get("spec") or {}):
            rev = revision(template)
            self._make_pod(key, f"{key.name}-{_suffix(key.name, rev)}", template, {REVISION_LABEL[key.kind]: rev})

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
            # rolled out: every pod of the current template, ready, and no old pod left (kstatus, Argo CD)
            current = [p for p in pods if is_current(p, key.kind, obj["spec"]["template"])]
            ready, old = sum(1 for p in current if p.ready), len(pods) - len(current)
            return ready >= want and old == 0, f"{ready}/{want} ready, {old} old"
        if key.kind == "ExternalSecret":
            return self.cluster.external_secret_ready(key), "secret made"
        return True, "applied"
