"""One pod's lifecycle as the kubelet runs it: init containers, containers, restarts, readiness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.e2e.network import Sandbox
from tests.e2e.objects import Key, Obj
from tests.e2e.podspec import NotYet, PodView, container_argv, container_env, container_user, mounts, volume_dirs
from tests.e2e.probes import run_probe
from tests.e2e.profiles import Profile
from tests.e2e.scheduling import pod_hostname

PODINIT = Path(__file__).with_name("podinit.py")
BACKOFF_START, BACKOFF_MAX = 1.0, 5.0
# The waits of a builtin kubernetes-entrypoint container: what is still unresolved, or [].
WaitCheck = Callable[["Pod", dict[str, str]], list[str]]


@dataclass
class Container:
    """One container of a pod and its current process."""

    spec: Obj
    profile: Profile
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: tuple[int, int] = (0, 0)
    restarts: int = 0
    exit_code: int | None = None
    finished: bool = False
    next_start: float = 0.0
    started_at: float = 0.0
    ready: bool = False
    probe: Future[tuple[bool, str]] | None = None
    probe_due: float = 0.0
    probe_failures: int = 0
    status: str = "waiting"

    @property
    def name(self) -> str:
        return str(self.spec["name"])


@dataclass
class Pod:
    """A pod of the run: identity, address, containers and phase."""

    view: PodView
    owner: Key
    inits: list[Container]
    containers: list[Container]
    hosts: Path
    resolv: Path
    created: float = field(default_factory=time.monotonic)
    phase: str = "Pending"
    init_index: int = 0
    ready_at: float | None = None
    ended_at: float | None = None
    waiting_on: list[str] = field(default_factory=list)
    volumes: dict[str, Path] | None = None
    sandbox: Sandbox | None = None
    started_printed: bool = False

    @property
    def name(self) -> str:
        return self.view.name

    @property
    def ready(self) -> bool:
        return self.phase == "Running" and all(c.ready for c in self.containers)

    @property
    def restart_policy(self) -> str:
        return str(self.view.spec.get("restartPolicy", "Always"))

    def containers_started(self) -> bool:
        return any(c.proc is not None for c in self.containers)

    def restarts(self) -> int:
        return sum(c.restarts for c in self.inits + self.containers)


def _start(pod: Pod, c: Container) -> None:
    """Start one container: resolve its spec, write podinit's spec, spawn it in new namespaces."""
    if pod.volumes is None:
        pod.volumes = volume_dirs(pod.view)
    c.env = container_env(pod.view, c.spec, c.profile)
    uid, gid, groups = container_user(pod.view, c.spec, c.profile)
    c.user = (uid, gid)
    scratch = pod.view.dir / "containers" / f"{c.name}-{c.restarts}"
    scratch.mkdir(parents=True, exist_ok=True)
    spec = {"scratch": str(scratch), "hostname": pod_hostname(pod.view.spec, pod.name),
            "mounts": mounts(pod.view, c.spec, c.profile, pod.volumes, pod.hosts, pod.resolv),
            "env": c.env, "argv": container_argv(c.spec, c.profile, c.env), "uid": uid, "gid": gid,
            "groups": groups, "workdir": c.spec.get("workingDir") or "/"}
    spec_file = scratch / "spec.json"
    spec_file.write_text(json.dumps(spec))
    with open(c.log, "ab") as log:
        log.write(f"--- start #{c.restarts}: {spec['argv']}\n".encode())
        c.proc = subprocess.Popen(
            ["setpriv", "--pdeathsig", "KILL", *(pod.sandbox.enter() if pod.sandbox else []),
             "unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--propagation", "private",
             sys.executable, "-I", str(PODINIT), str(spec_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    c.started_at = time.monotonic()
    c.exit_code, c.ready, c.probe_failures, c.status = None, False, 0, "running"
    c.probe_due = c.started_at + float((c.spec.get("readinessProbe") or {}).get("initialDelaySeconds", 0))


def ns_init_pid(proc: subprocess.Popen[bytes]) -> int | None:
    """The pid (in our namespace) of the container's pid 1: the child of `unshare --fork`."""
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def stop_container(c: Container, grace: float) -> None:
    """SIGTERM to the container's pid 1, SIGKILL to its process group after the grace period."""
    proc = c.proc
    if proc is None or proc.poll() is not None:
        return
    pid1 = ns_init_pid(proc)
    if pid1 is not None:
        try:
            os.kill(pid1, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    for sig_target in (pid1, None):
        try:
            if sig_target is not None:
                os.kill(sig_target, signal.SIGKILL)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def _exited(pod: Pod, c: Container, now: float, policy: str) -> None:
    """A container's process ended: finished for good, or restarted after a back-off."""
    assert c.proc is not None
    c.exit_code = c.proc.returncode
    c.proc, c.ready, c.probe = None, False, None
    if policy == "Never" or (policy == "OnFailure" and c.exit_code == 0):
        c.finished, c.status = True, f"exited {c.exit_code}"
        return
    c.restarts += 1
    c.next_start = now + min(BACKOFF_START * 2 ** (c.restarts - 1), BACKOFF_MAX)
    c.status = f"exited {c.exit_code}, restart #{c.restarts} in {c.next_start - now:.0f}s"


def _run(pod: Pod, c: Container, now: float, policy: str) -> None:
    """Start a container when due; notice when it exits."""
    if c.finished:
        return
    if c.proc is None:
        if now >= c.next_start:
            try:
                _start(pod, c)
            except NotYet as why:
                c.status = f"cannot start: {why}"
                c.next_start = now + 1.0
        return
    if c.proc.poll() is not None:
        _exited(pod, c, now, policy)


def _readiness(pod: Pod, c: Container, now: float, pool: ThreadPoolExecutor) -> None:
    probe = c.spec.get("readinessProbe")
    if c.proc is None:
        return
    if not probe:
        c.ready = True
        return
    if c.probe is not None and c.probe.done():
        ok, why = c.probe.result()
        c.probe = None
        c.probe_failures = 0 if ok else c.probe_failures + 1
        if ok:
            c.ready = True
        elif c.probe_failures >= int(probe.get("failureThreshold", 3)) or not c.ready:
            c.ready, c.status = False, f"not ready: {why}"
    if c.probe is None and now >= c.probe_due:
        pid1 = ns_init_pid(c.proc) or c.proc.pid
        c.probe = pool.submit(run_probe, probe, pod.view.ip, c.spec, pid1, c.user, dict(c.env))
        # Until the first success, probe every second; after it, every periodSeconds (docs/e2e.md).
        period = float(probe.get("periodSeconds", 10)) if c.ready else 1.0
        c.probe_due = now + period


def tick(pod: Pod, now: float, waits: WaitCheck, pool: ThreadPoolExecutor) -> None:
    """Advance the pod one step: the current init container, else every container."""
    if pod.phase in ("Succeeded", "Failed"):
        return
    policy = pod.restart_policy
    if pod.init_index < len(pod.inits):
        c = pod.inits[pod.init_index]
        if c.profile.builtin == "kubernetes-entrypoint":
            pod.waiting_on = waits(pod, container_env(pod.view, c.spec, c.profile))
            c.status = "waiting for " + "; ".join(pod.waiting_on) if pod.waiting_on else "done"
            c.finished = not pod.waiting_on
        else:
            _run(pod, c, now, "OnFailure" if policy == "Always" else policy)
            if c.finished and c.exit_code != 0:
                pod.phase, pod.ended_at = "Failed", now
                return
        if c.finished:
            pod.init_index += 1
        return
    pod.waiting_on = []
    for c in pod.containers:
        _run(pod, c, now, policy)
        _readiness(pod, c, now, pool)
    if any(c.proc is not None for c in pod.containers):
        pod.phase = "Running"
    if all(c.finished for c in pod.containers):
        pod.phase = "Succeeded" if all(c.exit_code == 0 for c in pod.containers) else "Failed"
        pod.ended_at = now
    if pod.ready and pod.ready_at is None:
        pod.ready_at = now


def stop_pod(pod: Pod, grace: float) -> None:
    """Stop every process of the pod, then its network namespace."""
    for c in pod.inits + pod.containers:
        stop_container(c, grace)
    if pod.sandbox is not None:
        pod.sandbox.close()
