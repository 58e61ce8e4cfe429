"""Rolling updates as the workload controllers do them: revisions of a pod template, pod termination.

Facts from Kubernetes' controllers (pkg/controller/deployment/rolling.go, statefulset/
stateful_set_control.go, daemon/update.go) and the API docs of each `strategy`:

- Deployment `RollingUpdate` (default `maxSurge` 25% rounded up, `maxUnavailable` 25% rounded
  down; both absolute or percent): new pods are added while the total stays within
  `replicas + maxSurge`; an old pod is removed while the ready pods left stay at least
  `replicas - maxUnavailable` (unready old pods first). `Recreate`: every old pod is gone before
  a new one is made.
- StatefulSet `RollingUpdate` (default): from the highest ordinal down, one pod at a time, and
  only while every pod is Running and ready; the pod is deleted and made again from the new
  template under the same name (keeping its volume claims). `OnDelete`: nothing rolls.
- DaemonSet `RollingUpdate` (default `maxUnavailable` 1, `maxSurge` 0): the node's old pod is
  deleted, then the new one made. `OnDelete`: nothing rolls.
- A deleted pod leaves the Service endpoints at once; its containers get SIGTERM and SIGKILL after
  `terminationGracePeriodSeconds` (default 30); a StatefulSet pod's name is free again only once
  it is gone.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import time
from dataclasses import dataclass

from tests.e2e import kubelet
from tests.e2e.kubelet import Pod
from tests.e2e.objects import Obj

# The label each controller puts on its pods to tell their revision.
REVISION_LABEL = {"Deployment": "pod-template-hash", "StatefulSet": "controller-revision-hash",
                  "DaemonSet": "controller-revision-hash"}


def revision(template: Obj) -> str:
    """The revision of a pod template: a hash of its content (the controllers' own is of the same bytes)."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:9]


def is_current(pod: Pod, kind: str, template: Obj) -> bool:
    return pod.view.labels.get(REVISION_LABEL[kind]) == revision(template)


def _amount(value: object, replicas: int, default: str, round_up: bool) -> int:
    text = str(default if value is None else value)
    if text.endswith("%"):
        share = replicas * int(text[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(text)


def deployment_budget(spec: Obj, replicas: int) -> tuple[int, int] | None:
    """(maxSurge, maxUnavailable) of a RollingUpdate Deployment; None for Recreate."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return None
    rolling = strategy.get("rollingUpdate") or {}
    surge = _amount(rolling.get("maxSurge"), replicas, "25%", True)
    unavailable = _amount(rolling.get("maxUnavailable"), replicas, "25%", False)
    return surge, max(unavailable, 0 if surge else 1)  # both 0 is invalid; the API server refuses it


def old_pods_to_remove(old: list[Pod], ready_total: int, replicas: int, unavailable: int) -> list[Pod]:
    """The old pods a rolling Deployment removes now: unready ones first, ready ones within the budget."""
    out = []
    for pod in sorted(old, key=lambda p: p.ready):
        if not pod.ready or ready_total - 1 >= replicas - unavailable:
            out.append(pod)
            ready_total -= 1 if pod.ready else 0
    return out


def rolls(kind: str, spec: Obj) -> bool:
    """Whether the controller replaces outdated pods by itself (not `OnDelete`)."""
    if kind == "Deployment":
        return True
    return str((spec.get("updateStrategy") or {}).get("type", "RollingUpdate")) != "OnDelete"


@dataclass
class Terminating:
    """A deleted pod whose containers were sent SIGTERM; gone once they exited or the grace ran out."""

    pod: Pod
    deadline: float


def begin_termination(pod: Pod, now: float) -> Terminating:
    """SIGTERM to every running container's pid 1; the pod stops being an endpoint at once."""
    for c in pod.inits + pod.containers:
        pid1 = kubelet.ns_init_pid(c.proc) if c.proc is not None else None
        if pid1 is not None:
            try:
                os.kill(pid1, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for c in pod.containers:
        c.ready = False
    grace = float(pod.view.spec.get("terminationGracePeriodSeconds", 30))
    return Terminating(pod, now + grace)


def finished_terminating(t: Terminating, now: float) -> bool:
    """True once the pod is gone: every container exited (or was killed at the deadline), its network closed."""
    running = [c for c in t.pod.inits + t.pod.containers if c.proc is not None and c.proc.poll() is None]
    if running and now < t.deadline:
        return False
    kubelet.stop_pod(t.pod, 0.0)  # SIGKILL what is left; the pod's network namespace goes
    t.pod.phase = "Terminated"
    return True


def wait_all(terminating: list[Terminating], limit: float) -> None:
    """At the end of a run: let terminating pods finish (at most `limit` s), then kill the rest."""
    deadline = time.monotonic() + limit
    for t in terminating:
        t.deadline = min(t.deadline, deadline)
        while not finished_terminating(t, time.monotonic()):
            time.sleep(0.1)
