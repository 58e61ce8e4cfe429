"""The run: apply units in delivery order, drive controllers and pods, report, stop everything."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e import kubelet
from tests.e2e.cluster import Cluster
from tests.e2e.controllers import Controllers
from tests.e2e.delivery import Unit, argocd_units, flux_units
from tests.e2e.explain import describe_blockers, last_log_lines
from tests.e2e.kubelet import Pod
from tests.e2e.objects import Key, RunError, key_of
from tests.e2e.waits import unresolved

TICK = 0.25
STOP_GRACE_MAX = 10.0


@dataclass
class Options:
    """What to run and how long to wait."""

    repo: Path
    env: str
    engine: str
    scratch: Path
    only: set[str] | None = None
    timeout: float = 600.0
    stall: float = 120.0
    report: Callable[[str], None] = print


@dataclass
class UnitState:
    """How far one unit got: the group applied last, and when it became healthy."""

    unit: Unit
    group: int = -1
    done_at: float | None = None
    keys: list[list[Key]] = field(default_factory=list)


class Run:
    """One run of an environment; use as a context manager so that everything is stopped."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        env_dir = opts.repo / "env" / opts.env
        lock = json.loads((env_dir / "ccp-gitops.lock.json").read_text())
        self.cluster = Cluster(opts.scratch, str(lock["namespace"]))
        self.controllers = Controllers(self.cluster, str(lock["openstack_release"]))
        plan = argocd_units if opts.engine == "argocd" else flux_units
        self.units = [UnitState(u) for u in plan(opts.repo, env_dir, opts.only)]
        self.planned = {key_of(o, self.cluster.namespace) for s in self.units for g in s.unit.groups for o in g}
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.started = time.monotonic()
        self._seen: dict[str, tuple[bool, bool, int]] = {}
        self._progress = (0.0, "")

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def say(self, text: str) -> None:
        self.opts.report(f"[{time.monotonic() - self.started:6.1f}s] {text}")

    def _apply_group(self, state: UnitState) -> None:
        state.group += 1
        objs = state.unit.groups[state.group]
        state.keys.append([self.cluster.apply(o) for o in objs])
        self.say(f"{state.unit.name}: applied group {state.group + 1}/{len(state.unit.groups)} ({len(objs)} objects)")

    def _group_healthy(self, state: UnitState) -> bool:
        return all(self.controllers.health(k, self.cluster.objects[k])[0] for k in state.keys[state.group])

    def _advance_units(self, now: float) -> None:
        done = {s.unit.name for s in self.units if s.done_at is not None}
        for state in self.units:
            if state.done_at is not None or not all(a in done for a in state.unit.after):
                continue
            if state.group < 0:
                self._apply_group(state)
            elif self._group_healthy(state):
                if state.group + 1 < len(state.unit.groups):
                    self._apply_group(state)
                else:
                    state.done_at = now
                    self.say(f"{state.unit.name}: healthy")

    def _pod_events(self, pod: Pod, now: float) -> None:
        started = pod.containers_started()
        seen = self._seen.get(pod.name, (False, False, 0))
        if started and not seen[0]:
            self.say(f"pod {pod.name}: started")
        if pod.ready_at is not None and not seen[1] and pod.owner.kind != "Job":
            self.say(f"pod {pod.name}: ready after {pod.ready_at - pod.created:.1f}s")
        if pod.restarts() > seen[2]:
            self.say(f"pod {pod.name}: restarts {pod.restarts()}")
        if pod.ended_at is not None and not seen[1]:
            self.say(f"pod {pod.name}: {pod.phase.lower()} after {pod.ended_at - pod.created:.1f}s")
        self._seen[pod.name] = (started or seen[0], pod.ready_at is not None or pod.ended_at is not None,
                                pod.restarts())

    def _check_stall(self, now: float) -> None:
        signature = repr(sorted((p.name, p.phase, p.init_index, p.ready, p.restarts()) for p in self.cluster.pods.values()))
        signature += repr([(s.group, s.done_at) for s in self.units])
        if signature != self._progress[1]:
            self._progress = (now, signature)
        idle = now - self._progress[0]
        if idle > self.opts.stall or now - self.started > self.opts.timeout:
            why = f"no progress for {idle:.0f}s" if idle > self.opts.stall else f"not up after {self.opts.timeout:.0f}s"
            raise RunError(f"{why}; what waits for what:\n" + describe_blockers(self))

    def step(self) -> bool:
        """One tick of every controller; True when every unit is healthy."""
        now = time.monotonic()
        self._advance_units(now)
        self.cluster.reconcile_external_secrets()
        self.controllers.sync()
        self.cluster.refresh_network()

        def waits(pod: Pod, env: dict[str, str]) -> list[str]:
            return unresolved(self.cluster, self.controllers.job_succeeded, self.planned, pod, env)

        for pod in list(self.cluster.pods.values()):
            kubelet.tick(pod, now, waits, self.pool)
            self._pod_events(pod, now)
        if all(s.done_at is not None for s in self.units):
            return True
        self._check_stall(now)
        return False

    def run(self) -> None:
        """Until every unit is healthy; a RunError carries what failed, with the pods' last log lines."""
        try:
            while not self.step():
                time.sleep(TICK)
        except RunError as exc:
            raise RunError(f"{exc}{self._logs_of_named_pods(str(exc))}") from None
        self.say(f"all {len(self.units)} units healthy ({self.opts.engine} order)")

    def _logs_of_named_pods(self, text: str) -> str:
        named = [p for name, p in self.cluster.pods.items() if re.search(rf"\b{re.escape(name)}\b", text)]
        return "".join(last_log_lines(p) for p in named[:4])

    def client_command(self, argv: list[str]) -> list[str]:
        """A command run like a client pod: this run's network and /etc/hosts (Service names resolve)."""
        hosts = self.cluster.client_hosts
        return ["unshare", "--mount", "--propagation", "private", "sh", "-ec",
                f'mount --bind "{hosts}" /etc/hosts; exec "$@"', "client", *argv]

    def secret(self, name: str, key: str) -> str:
        """A value of a Secret the run made (for the smoke checks: e.g. the admin password)."""
        data = self.cluster.secrets.get(Key("Secret", self.cluster.namespace, name))
        if data is None or key not in data:
            raise RunError(f"Secret {name} has no key {key} in this run")
        return data[key]

    def summary(self) -> list[str]:
        """Per pod: ready after N s (or its phase) and restarts."""
        lines = []
        for pod in self.cluster.pods.values():
            if pod.ended_at is not None:
                state = f"{pod.phase.lower()} after {pod.ended_at - pod.created:.1f}s"
            else:
                state = f"ready after {pod.ready_at - pod.created:.1f}s" if pod.ready_at else pod.phase.lower()
            lines.append(f"{pod.name:<44} {state:<22} restarts {pod.restarts()}")
        return lines

    def stop(self) -> None:
        """SIGTERM every container's pid 1, wait (grace capped), then SIGKILL what is left."""
        running = [c for p in self.cluster.pods.values() for c in p.inits + p.containers if c.proc is not None]
        grace = 0.0
        for pod in self.cluster.pods.values():
            grace = max(grace, float(pod.view.spec.get("terminationGracePeriodSeconds", 30)))
        for c in running:
            pid1 = kubelet.ns_init_pid(c.proc) if c.proc else None
            if pid1 is not None:
                try:
                    os.kill(pid1, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + min(grace, STOP_GRACE_MAX)
        for c in running:
            kubelet.stop_container(c, max(0.0, deadline - time.monotonic()))
        for pod in self.cluster.pods.values():
            kubelet.stop_pod(pod, 0.0)
        self.cluster.dns.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
