"""Risks of a diff: immutable fields, deletions that lose data, scale to zero, removed dependencies, credentials."""

from __future__ import annotations

import re
from typing import Any

from ccp_gitops.diff.impact import object_wave, order_key
from ccp_gitops.diff.model import SEVERITY_ORDER, Risk, Severity
from ccp_gitops.diff.objects import Pair
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.resid import ResId

SELECTOR_KINDS = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")}
SCALABLE_KINDS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")}
# The only StatefulSet spec fields the API server lets an update change.
STATEFULSET_MUTABLE = {
    "replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds", "revisionHistoryLimit",
}
STATEFULSET_HINTS = {
    "volumeClaimTemplates": "existing PVCs keep their old spec; recreate the StatefulSet with "
    "`kubectl delete statefulset --cascade=orphan` and expand the PVCs separately",
    "serviceName": "the pods' DNS names change; recreate the StatefulSet with `kubectl delete statefulset --cascade=orphan`",
}
DELETION_RISKS = {
    ("", "PersistentVolumeClaim"): "deleting a PersistentVolumeClaim deletes its data when the volume's reclaim policy is Delete (the default for dynamic volumes)",
    ("", "PersistentVolume"): "deleting a PersistentVolume can delete the storage behind it",
    ("apps", "StatefulSet"): "deleting a StatefulSet stops all its pods; its PVCs stay unless its retention policy deletes them",
    ("", "Namespace"): "deleting a Namespace deletes every object in it",
    ("apiextensions.k8s.io", "CustomResourceDefinition"): "deleting a CustomResourceDefinition deletes every custom resource of its kind",
}
_SIZE = re.compile(r"^(?P<num>[0-9.]+)(?P<unit>[KMGTPE]i?|[kmMGTPE]?)$")
_UNITS = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 1e-3}


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity (``5Gi``, ``500M``) in bytes/units; None when it does not parse."""
    match = _SIZE.match(str(value))
    if not match:
        return None
    try:
        return float(match["num"]) * _UNITS[match["unit"]]
    except (KeyError, ValueError):
        return None


def _spec(body: dict[str, Any] | None) -> dict[str, Any]:
    spec = (body or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


def _immutable(pair: Pair) -> list[tuple[str, str]]:
    """(field path, message) for each immutable field an update of this object would change."""
    assert pair.old is not None and pair.new is not None
    gk = (pair.id.group, pair.id.kind)
    old, new = _spec(pair.old.body), _spec(pair.new.body)
    found: list[tuple[str, str]] = []
    if gk in SELECTOR_KINDS and old.get("selector") != new.get("selector"):
        found.append(("spec.selector", f"spec.selector of a {pair.id.kind} is immutable: the apply fails; the object must be deleted and recreated"))
    if gk == ("apps", "StatefulSet"):
        for key in sorted((set(old) | set(new)) - STATEFULSET_MUTABLE):
            if old.get(key) != new.get(key):
                hint = STATEFULSET_HINTS.get(key, "recreate the StatefulSet with `kubectl delete statefulset --cascade=orphan`")
                found.append((f"spec.{key}", f"spec.{key} of a StatefulSet is immutable: the apply fails (Forbidden: updates to statefulset spec for fields other than replicas, template, updateStrategy, ...); {hint}"))
    if gk == ("batch", "Job"):
        for key in ("selector", "template"):
            if old.get(key) != new.get(key):
                found.append((f"spec.{key}", f"spec.{key} of a Job is immutable: the apply fails unless the Job is recreated under a new name"))
    if gk == ("", "Service"):
        for key in ("clusterIP", "clusterIPs"):
            if old.get(key) != new.get(key):
                found.append((f"spec.{key}", f"spec.{key} of a Service is immutable: the apply fails; the Service must be recreated (clients see a new address)"))
    if gk == ("", "PersistentVolumeClaim"):
        found.extend(_pvc_changes(old, new))
    if gk in (("", "ConfigMap"), ("", "Secret")) and pair.old.body.get("immutable") is True:
        for key in ("data", "binaryData", "stringData"):
            if pair.old.body.get(key) != pair.new.body.get(key):
                found.append((key, f"this {pair.id.kind} is immutable: its {key} cannot change; it must be deleted and recreated"))
    return found


def _pvc_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key) or key == "volumeAttributesClassName":
            continue
        if key == "resources":
            before = ((old.get("resources") or {}).get("requests") or {}).get("storage")
            after = ((new.get("resources") or {}).get("requests") or {}).get("storage")
            rest_old = {**(old.get("resources") or {}), "requests": {}}
            rest_new = {**(new.get("resources") or {}), "requests": {}}
            a, b = quantity(before), quantity(after)
            if rest_old == rest_new and a is not None and b is not None and b >= a:
                continue
            found.append(("spec.resources", f"a PersistentVolumeClaim can only grow (storage {before} -> {after}), and only when its StorageClass allows expansion"))
            continue
        found.append((f"spec.{key}", f"spec.{key} of a PersistentVolumeClaim is immutable: the apply fails"))
    return found


def _replicas(body: dict[str, Any]) -> int:
    value = _spec(body).get("replicas", 1)
    return value if isinstance(value, int) else 1


def _generator_backed(body: dict[str, Any]) -> bool:
    return any(isinstance(d, dict) and "generatorRef" in (d.get("sourceRef") or {}) for d in _spec(body).get("dataFrom") or [])


def _secret_risks(pair: Pair) -> list[tuple[Severity, str, str]]:
    """ExternalSecret changes: generated values rotate, or the change never reaches the Secret."""
    assert pair.old is not None and pair.new is not None
    if not (pair.id.group == "external-secrets.io" and pair.id.kind == "ExternalSecret"):
        return []
    spec = _spec(pair.new.body)
    if not _generator_backed(pair.new.body):
        return []
    if spec.get("refreshPolicy") == "CreatedOnce":
        return [("medium", "secret-not-refreshed", "refreshPolicy is CreatedOnce: this change does not reach the existing Secret; recreating the ExternalSecret applies it but generates a new password")]
    interval = str(spec.get("refreshInterval", "1h"))
    if spec.get("refreshPolicy") in (None, "Periodic") and interval not in ("0", "0s"):
        when = f"after this change and then every {interval} (refreshPolicy Periodic)"
    else:
        when = "after this change"
    return [("high", "credential-rotation", f"this ExternalSecret is filled by a generator: External Secrets generates a new value {when}, which rotates the credential under its consumers")]


def risks(
    env: str, changed: list[Pair], old_lock: Lock | None, new_lock: Lock | None, waves: dict[str, int]
) -> list[Risk]:
    """Every risky change in one environment, most severe first, then in apply order."""
    found: list[tuple[tuple[Any, ...], Risk]] = []

    def add(pair: Pair | None, component: str, severity: Severity, rule: str, message: str, wave: int | None) -> None:
        rid = pair.id if pair else None
        obj = (pair.new or pair.old) if pair else None
        key = (SEVERITY_ORDER[severity],) + order_key(wave, component, obj, rid or ResId("", "", "", "")) + (rule, message)
        found.append((key, Risk(env, component, severity, rule, message, rid, wave)))

    for pair in changed:
        side = pair.new or pair.old
        assert side is not None
        wave = object_wave(side, waves)
        gk = (pair.id.group, pair.id.kind)
        if pair.new is None and gk in DELETION_RISKS:
            add(pair, pair.component, "high", "deletion", DELETION_RISKS[gk], wave)
        if pair.old is None or pair.new is None:
            continue
        for _, message in _immutable(pair):
            add(pair, pair.component, "high", "immutable-field", message, wave)
        if gk in SCALABLE_KINDS and _replicas(pair.new.body) == 0 and _replicas(pair.old.body) > 0:
            add(pair, pair.component, "medium", "scale-to-zero", f"replicas {_replicas(pair.old.body)} -> 0: the {pair.id.kind} stops serving", wave)
        for severity, rule, message in _secret_risks(pair):
            add(pair, pair.component, severity, rule, message, wave)
    old_comps = old_lock.components if old_lock else {}
    new_comps = new_lock.components if new_lock else {}
    if new_lock is not None:
        for name in sorted(set(old_comps) - set(new_comps)):
            dependents = sorted(c for c, spec in old_comps.items() if name in spec.depends_on)
            if not dependents:
                continue
            remaining = [d for d in dependents if d in new_comps]
            if remaining:
                add(None, name, "high", "dependency-removed", f"component removed while {', '.join(remaining)} still depend(s) on it", waves.get(name))
            else:
                add(None, name, "medium", "dependency-removed", f"component removed; {', '.join(dependents)} depended on it (removed too)", waves.get(name))
    return [r for _, r in sorted(found, key=lambda kv: kv[0])]
