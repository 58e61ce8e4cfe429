"""A new commit of the env repo applied to a running cloud, as Argo CD (or Flux) syncs it.

The run re-reads the delivery from the env repo's work tree and syncs every unit again in its
order (Argo CD: Applications by sync wave, objects wave by wave, each healthy before the next;
Flux: each Kustomization after its dependsOn). Unchanged objects are applied unchanged and stay
as they are; a changed pod template rolls its workload (tests/e2e/rolling.py); a Job of a new
name (ours carry a digest of their content) runs; a Job applied again with another template is
refused as the API server refuses it. Objects the new commit no longer has are pruned once their
unit is healthy again (the Applications' `PruneLast=true`; Flux's garbage collection after the
apply): a pruned workload's pods are terminated, a pruned Job's pods with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.delivery import argocd_units, flux_units
from tests.e2e.objects import Key, RunError, key_of
from tests.e2e.rolling import wait_all
from tests.e2e.runner import TICK, Run, UnitState

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


@dataclass
class SyncReport:
    """What one sync did: how long it took, the objects it changed, added and pruned, the pods it replaced."""

    seconds: float = 0.0
    changed: list[Key] = field(default_factory=list)
    added: list[Key] = field(default_factory=list)
    pruned: list[Key] = field(default_factory=list)
    pods_started: list[str] = field(default_factory=list)
    pods_gone: list[str] = field(default_factory=list)


def sync_commit(run: Run, repo: Path | None = None, timeout: float = 900.0) -> SyncReport:
    """Apply the env repo's current tree (`repo`, else the run's) to the running cloud; wait until every unit is healthy."""
    if repo is not None:
        run.opts.repo = repo
    env_dir = run.opts.repo / "env" / run.opts.env
    plan = argocd_units if run.opts.engine == "argocd" else flux_units
    before = dict(run.cluster.objects)
    owner = dict(run.applied_by)
    run.units = [UnitState(u) for u in plan(run.opts.repo, env_dir, run.opts.only)]
    run.planned = {key_of(o, run.cluster.namespace) for s in run.units for g in s.unit.groups for o in g}
    report = SyncReport()
    report.changed = sorted(k for k in run.planned if k in before and before[k] != _planned_obj(run, k))
    report.added = sorted(k for k in run.planned if k not in before)
    pods_before = {id(p): p for p in run.cluster.pods.values()}  # held: their ids stay unique
    started = time.monotonic()
    # the run's limits count from its start: give this sync its own
    run.opts.timeout = started - run.started + timeout
    run._progress = (started, "")
    pruned_units: set[str] = set()
    try:
        while True:
            done = run.step()
            for name in run.controllers.terminating:
                run._seen.pop(name, None)  # a StatefulSet pod made again under its name is reported afresh
            for state in run.units:
                if state.done_at is not None and state.unit.name not in pruned_units:
                    pruned_units.add(state.unit.name)
                    report.pruned += _prune(run, [k for k, u in owner.items() if u == state.unit.name])
            if done and not run.controllers.terminating:
                break
            time.sleep(TICK)
        # units the new commit no longer has: their objects go too (the app-of-apps prunes the Application)
        report.pruned += _prune(run, [k for k, u in owner.items() if u not in pruned_units])
        wait_all(list(run.controllers.terminating.values()), 30.0)
        run.controllers.terminating.clear()
    except RunError as exc:
        raise RunError(f"{exc}{run._logs_of_named_pods(str(exc))}") from None
    report.seconds = time.monotonic() - started
    now = {id(p): p.name for p in run.cluster.pods.values()}
    report.pods_started = sorted(name for i, name in now.items() if i not in pods_before)
    report.pods_gone = sorted(p.name for i, p in pods_before.items() if i not in now)
    run.say(f"synced in {report.seconds:.0f}s: {len(report.changed)} changed, {len(report.added)} added, "
            f"{len(report.pruned)} pruned; {len(report.pods_started)} pods started, {len(report.pods_gone)} gone")
    return report


def _planned_obj(run: Run, key: Key) -> object:
    for state in run.units:
        for group in state.unit.groups:
            for obj in group:
                if key_of(obj, run.cluster.namespace) == key:
                    return obj
    return None


def _prune(run: Run, keys: list[Key]) -> list[Key]:
    """Delete the objects of `keys` that no unit of the new commit has; a workload's pods go with it."""
    gone = [k for k in keys if k not in run.planned and k in run.cluster.objects]
    for key in gone:
        if key.kind in WORKLOAD_KINDS:
            for pod in run.controllers.owned(key):
                run.controllers.delete_pod(pod)
        run.cluster.delete(key)
        run.say(f"pruned {key}")
    return gone
