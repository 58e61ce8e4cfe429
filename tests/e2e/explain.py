"""Why a run is stuck: the chain of what waits for what, and a failing pod's last log lines."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.e2e.kubelet import Pod
from tests.e2e.objects import Key

if TYPE_CHECKING:
    from tests.e2e.runner import Run

LOG_LINES = 15


def last_log_lines(pod: Pod, count: int = LOG_LINES) -> str:
    """The last lines of each container log of a pod that has one."""
    out = ""
    for c in pod.inits + pod.containers:
        if c.log.exists() and c.log.stat().st_size:
            lines = c.log.read_text(errors="replace").splitlines()[-count:]
            out += f"\n--- last {len(lines)} log lines of pod {pod.name}, container {c.name}:\n" + "\n".join(lines)
    return out


def _pod_line(pod: Pod) -> str:
    states = [f"{c.name}: {c.status}" for c in pod.inits[pod.init_index:pod.init_index + 1] + pod.containers]
    return f"pod {pod.name} ({pod.phase}, restarts {pod.restarts()}): " + "; ".join(states)


def _describe_wait(run: Run, text: str, depth: int, seen: set[str]) -> list[str]:
    """What a wait ("Service ns/name ...", "Job ns/name ...") is itself blocked on."""
    m = re.match(r"(Service|Job|DaemonSet) ([^/ ]+)/(\S+)", text)
    if not m:
        return []
    key = Key(m.group(1), m.group(2), m.group(3))
    obj = run.cluster.objects.get(key)
    pad = "  " * depth
    if obj is None:
        return [f"{pad}{key} is not applied yet (its unit waits: {_unit_of(run, key)})"]
    if key.kind == "Service":
        pods = run.cluster.selected_pods(obj)
        if not pods:
            return [f"{pad}{key} selects no pod (is its workload applied?)"]
        return [line for p in pods for line in _describe_pod(run, p, depth, seen)]
    return [line for p in run.controllers.owned(key) for line in _describe_pod(run, p, depth, seen)] or [
        f"{pad}{key} has no pod yet"]


def _unit_of(run: Run, key: Key) -> str:
    for s in run.units:
        for group in s.unit.groups:
            if any(o.get("kind") == key.kind and o["metadata"]["name"] == key.name for o in group):
                return f"{s.unit.name}, after {', '.join(s.unit.after) or 'nothing'}"
    return "in no unit"


def _describe_pod(run: Run, pod: Pod, depth: int, seen: set[str]) -> list[str]:
    pad = "  " * depth
    if pod.name in seen:
        return [f"{pad}{_pod_line(pod)}  <- already above: a cycle"]
    seen.add(pod.name)
    lines = [f"{pad}{_pod_line(pod)}"]
    for wait in pod.waiting_on:
        lines.append(f"{pad}  waits for {wait}")
        lines += _describe_wait(run, wait, depth + 2, seen)
    return lines


def describe_blockers(run: Run) -> str:
    """Every unit not healthy yet, the objects it waits on, and the chain of their pods' waits."""
    lines: list[str] = []
    seen: set[str] = set()
    done = {s.unit.name for s in run.units if s.done_at is not None}
    for state in run.units:
        if state.done_at is not None:
            continue
        if state.group < 0:
            lines.append(f"{state.unit.name}: not applied, waits for {[a for a in state.unit.after if a not in done]}")
            continue
        for key in state.keys[state.group]:
            healthy, why = run.controllers.health(key, run.cluster.objects[key])
            if healthy:
                continue
            lines.append(f"{state.unit.name}: {key} {why}")
            for pod in run.controllers.owned(key):
                lines += _describe_pod(run, pod, 1, seen)
    return "\n".join(lines)
