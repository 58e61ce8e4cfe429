"""kubernetes-entrypoint's waits, resolved against the run's objects as airship's code defines them.

Source read: airshipit/kubernetes-entrypoint (util/env/env.go for the variables, dependencies/*/
for when each kind is resolved). Service: its Endpoints have an address. Job: it exists and has
succeeded (by name, or every Job matching DEPENDENCY_JOBS_JSON labels). DaemonSet: its pod on this
pod's node is ready (no pod on the node counts as resolved, as upstream). Pod (DEPENDENCY_POD_JSON):
a matching pod is ready (on the same node if requireSameNode). Other kinds are refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.e2e.cluster import Cluster
from tests.e2e.kubelet import Pod
from tests.e2e.objects import Key, RunError, labels_match

UNSUPPORTED = ("DEPENDENCY_CONTAINER", "DEPENDENCY_CUSTOM_RESOURCE", "DEPENDENCY_SOCKET")


def split_deps(value: str, namespace: str) -> list[tuple[str, str]]:
    """`ns:name,name` -> [(ns, name)], entries of another shape skipped (upstream warns and skips)."""
    out = []
    for item in filter(None, value.split(",")):
        if ":" in item:
            parts = item.split(":")
            if len(parts) != 2 or not parts[0]:
                continue
            out.append((parts[0], parts[1]))
        else:
            out.append((namespace, item))
    return out


def _job_done(cluster: Cluster, jobs: Callable[[Key], bool], dep: dict[str, object], ns: str) -> list[str]:
    if dep.get("name"):
        key = Key("Job", str(dep.get("namespace") or ns), str(dep["name"]))
        return [] if key in cluster.objects and jobs(key) else [f"Job {key.namespace}/{key.name} (not complete)"]
    labels = {str(k): str(v) for k, v in (dep.get("labels") or {}).items()}  # type: ignore[attr-defined]
    matching = [k for k, o in cluster.objects.items() if k.kind == "Job"
                and labels_match(labels, (o.get("metadata") or {}).get("labels") or {})]
    if not matching or not all(jobs(k) for k in matching):
        return [f"Jobs labelled {labels} (none, or not all complete)"]
    return []


def unresolved(cluster: Cluster, jobs: Callable[[Key], bool], planned: set[Key], pod: Pod,
               env: dict[str, str]) -> list[str]:
    """What one kubernetes-entrypoint container still waits for; a wait nothing can satisfy raises."""
    ns = env.get("NAMESPACE") or pod.view.namespace
    for var in UNSUPPORTED:
        if env.get(var):
            raise RunError(f"pod {pod.name}: {var} waits are not supported by the runner")
    waiting: list[str] = []
    for dns, name in split_deps(env.get("DEPENDENCY_SERVICE", ""), ns):
        if Key("Service", dns, name) not in planned:
            raise RunError(f"pod {pod.name} ({pod.owner}) waits for Service {dns}/{name}, which nothing "
                           "in the environment creates: it can never start")
        if not cluster.service_ready(dns, name):
            waiting.append(f"Service {dns}/{name} (no ready endpoint)")
    job_deps: list[dict[str, object]] = (json.loads(env["DEPENDENCY_JOBS_JSON"]) if env.get("DEPENDENCY_JOBS_JSON")
                                         else [{"namespace": a, "name": b}
                                               for a, b in split_deps(env.get("DEPENDENCY_JOBS", ""), ns)])
    for dep in job_deps:
        if dep.get("name") and Key("Job", str(dep.get("namespace") or ns), str(dep["name"])) not in planned:
            raise RunError(f"pod {pod.name} ({pod.owner}) waits for Job {dep.get('name')}, which nothing "
                           "in the environment creates: it can never start")
        waiting += _job_done(cluster, jobs, dep, ns)
    for dns, name in split_deps(env.get("DEPENDENCY_DAEMONSET", ""), ns):
        key = Key("DaemonSet", dns, name)
        if key not in planned:
            raise RunError(f"pod {pod.name} ({pod.owner}) waits for DaemonSet {dns}/{name}, which nothing "
                           "in the environment creates: it can never start")
        on_node = [p for p in cluster.pods.values() if p.owner == key]
        if key not in cluster.objects or any(not p.ready for p in on_node):
            waiting.append(f"DaemonSet {dns}/{name} (its pod on this node is not ready)")
    pod_deps = json.loads(env["DEPENDENCY_POD_JSON"]) if env.get("DEPENDENCY_POD_JSON") else []
    for dep in pod_deps:
        labels = {str(k): str(v) for k, v in (dep.get("labels") or {}).items()}
        if not any(p.ready and labels_match(labels, p.view.labels) for p in cluster.pods.values()):
            waiting.append(f"a ready pod labelled {labels}")
    return waiting
