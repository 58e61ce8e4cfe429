"""Rollout impact of a diff: upgrades (images, releases), pods that restart and why, Jobs that run again."""

from __future__ import annotations

import json
from typing import Any

from ccp_gitops.compile.assemble import CONFIG_DIGEST, CONFIG_FILES, JOB_BASE_NAME, pod_spec
from ccp_gitops.diff.model import Cause, CauseKind, ComponentUpgrade, FieldChange, ImageChange, ReleaseChange, Rerun, Restart
from ccp_gitops.diff.objects import Pair, ParsedObj, field_changes, format_path, iter_containers
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.resid import ResId

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
RESTART_KINDS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")}
JOB_KIND = ("batch", "Job")
# Argo CD's apply order inside one wave (gitops-engine sync_tasks.go); other kinds come after.
KIND_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService",
]
KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
MAX_PATHS = 3


def lock_waves(*locks: Lock | None) -> dict[str, int]:
    """component -> wave, from the lock files (later locks win)."""
    waves: dict[str, int] = {}
    for lock in locks:
        for name, comp in (lock.components if lock else {}).items():
            if comp.wave is not None:
                waves[name] = comp.wave
    return waves


def annotation_wave(body: dict[str, Any]) -> int | None:
    """An object's own Argo CD sync-wave annotation, when it has a valid one."""
    value = ((body.get("metadata") or {}).get("annotations") or {}).get(SYNC_WAVE)
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def object_wave(obj: ParsedObj, waves: dict[str, int]) -> int | None:
    """The wave an object is applied in: its component's wave, else its own sync-wave annotation."""
    if obj.component in waves:
        return waves[obj.component]
    return annotation_wave(obj.body)


def order_key(wave: int | None, component: str, obj: ParsedObj | None, rid: ResId) -> tuple[Any, ...]:
    """Argo CD order: wave, then (inside a component) the object's sync-wave, kind and name."""
    inner = annotation_wave(obj.body) if obj is not None else None
    return (1 if wave is None else 0, wave or 0, component, inner or 0, KIND_RANK.get(rid.kind, len(KIND_ORDER)), str(rid))


def split_image(ref: str) -> tuple[str, str]:
    """``repo:tag`` / ``repo@sha256:...`` -> (repo, tag-or-digest); ("ref", "") when neither."""
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return repo, "@" + digest
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, ""


def image_change_text(old: str | None, new: str | None) -> str:
    """``repo 1.0 -> 1.1`` when only the tag or digest changes, else ``old -> new``."""
    if old is None or new is None:
        return f"{old or '(none)'} -> {new or '(none)'}"
    (old_repo, old_tag), (new_repo, new_tag) = split_image(old), split_image(new)
    if old_repo == new_repo and old_tag and new_tag:
        return f"{old_repo} {old_tag} -> {new_tag}"
    return f"{old} -> {new}"


def _config_files(template: dict[str, Any] | None) -> dict[str, str]:
    text = (((template or {}).get("metadata") or {}).get("annotations") or {}).get(CONFIG_FILES) or ""
    out = {}
    for entry in str(text).split():
        name, _, digest = entry.rpartition("=")
        out[name or entry] = digest
    return out


def _name(key: str | int) -> str:
    return str(key).lstrip("\0")


def _classify(change: FieldChange) -> tuple[CauseKind, str | None, str]:
    """(cause, container, what) for one changed field of a pod template."""
    keys = change.keys
    rel = keys[2:]  # below spec.template
    if len(rel) >= 4 and rel[0] == "spec" and rel[1] in ("containers", "initContainers"):
        container, field = _name(rel[2]), str(rel[3])
        if field == "image":
            return "image", container, image_change_text(change.old, change.new)
        if field in ("env", "envFrom"):
            names = sorted({_name(k) for k in rel[4:5]})
            return "env", container, f"{field} {', '.join(names)}" if names and field == "env" else field
        if field == "resources":
            what = format_path(("resources",) + rel[4:])
            return "resources", container, f"{what} {_short(change.old)} -> {_short(change.new)}"
        if field in ("command", "args"):
            return "command", container, field
    return "pod-spec", None, format_path(rel)


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def pod_causes(rid: ResId, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Cause]:
    """Why pods built from template ``new`` differ from those of ``old``: image, config file, env, ..."""
    causes: list[Cause] = []
    old_files, new_files = _config_files(old), _config_files(new)
    for name in sorted(set(old_files) | set(new_files)):
        if old_files.get(name) != new_files.get(name):
            verb = "added" if name not in old_files else "removed" if name not in new_files else "changed"
            causes.append(Cause("config", f"{name} {verb}", file=name))
    skip = frozenset({("spec", "template", "metadata", "annotations", CONFIG_DIGEST), ("spec", "template", "metadata", "annotations", CONFIG_FILES)})
    grouped: dict[tuple[CauseKind, str | None], list[str]] = {}
    for change in field_changes(rid, old, new, skip, base=("spec", "template")):
        kind, container, what = _classify(change)
        items = grouped.setdefault((kind, container), [])
        if what not in items:
            items.append(what)
    order: list[CauseKind] = ["image", "env", "resources", "command", "pod-spec"]
    for (kind, container), items in sorted(grouped.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1] or "")):
        shown = items[:MAX_PATHS] + ([f"+{len(items) - MAX_PATHS} more"] if len(items) > MAX_PATHS else [])
        detail = "; ".join(shown)
        causes.append(Cause(kind, f"{container}: {detail}" if container else detail, container=container))
    return causes


def _strategy_note(body: dict[str, Any]) -> str | None:
    strategy = ((body.get("spec") or {}).get("updateStrategy") or {}).get("type")
    if strategy == "OnDelete":
        return "updateStrategy OnDelete: pods change only when they are deleted"
    return None


def restarts(env: str, changed: list[Pair], waves: dict[str, int]) -> list[Restart]:
    """Workloads on both sides whose pod template changes, with the causes, in apply order."""
    out: list[tuple[tuple[Any, ...], Restart]] = []
    for pair in changed:
        if pair.old is None or pair.new is None or (pair.id.group, pair.id.kind) not in RESTART_KINDS:
            continue
        old_tpl, new_tpl = pod_spec(pair.old.body), pod_spec(pair.new.body)
        if old_tpl == new_tpl:
            continue
        wave = object_wave(pair.new, waves)
        causes = pod_causes(pair.id, old_tpl, new_tpl)
        restart = Restart(env, pair.id, pair.component, wave, causes, _strategy_note(pair.new.body))
        out.append((order_key(wave, pair.component, pair.new, pair.id), restart))
    return [r for _, r in sorted(out, key=lambda kv: kv[0])]


def _job_base(obj: ParsedObj) -> str:
    labels = (obj.body.get("metadata") or {}).get("labels") or {}
    return str(labels.get(JOB_BASE_NAME) or obj.id.name)


def reruns(env: str, changed: list[Pair], waves: dict[str, int]) -> list[Rerun]:
    """New Jobs (content-named, so a new name means a new run) and the Job each one replaces."""
    removed: dict[tuple[str, str], ParsedObj] = {}
    for pair in changed:
        if pair.new is None and pair.old is not None and (pair.id.group, pair.id.kind) == JOB_KIND:
            removed.setdefault((pair.id.namespace, _job_base(pair.old)), pair.old)
    out: list[tuple[tuple[Any, ...], Rerun]] = []
    for pair in changed:
        if pair.old is not None or pair.new is None or (pair.id.group, pair.id.kind) != JOB_KIND:
            continue
        base = _job_base(pair.new)
        before = removed.get((pair.id.namespace, base))
        causes: list[Cause] = []
        if before is not None:
            causes = pod_causes(pair.id, pod_spec(before.body), pod_spec(pair.new.body))
            spec_old = {k: v for k, v in (before.body.get("spec") or {}).items() if k != "template"}
            spec_new = {k: v for k, v in (pair.new.body.get("spec") or {}).items() if k != "template"}
            paths = [c.path for c in field_changes(pair.id, spec_old, spec_new, base=("spec",))]
            if paths:
                causes.append(Cause("job-spec", "; ".join(paths[:MAX_PATHS])))
        wave = object_wave(pair.new, waves)
        rerun = Rerun(env, pair.id, pair.component, wave, base, before.id if before else None, causes)
        out.append((order_key(wave, pair.component, pair.new, pair.id), rerun))
    return [r for _, r in sorted(out, key=lambda kv: kv[0])]


def _images_from_objects(changed: list[Pair]) -> dict[str, list[ImageChange]]:
    """component -> image changes seen in changed workloads (used when a side has no lock file)."""
    out: dict[str, list[ImageChange]] = {}
    for pair in changed:
        if pair.old is None or pair.new is None:
            continue
        old_images = {c.get("name"): c.get("image") for c in iter_containers(pod_spec(pair.old.body))}
        new_images = {c.get("name"): c.get("image") for c in iter_containers(pod_spec(pair.new.body))}
        for name in sorted(set(old_images) & set(new_images), key=str):
            before, after = old_images[name], new_images[name]
            if before != after and isinstance(before, str) and isinstance(after, str):
                change = ImageChange(str(name), "change", before, after)
                items = out.setdefault(pair.component, [])
                if change not in items:
                    items.append(change)
    return out


def upgrades(
    env: str, old_lock: Lock | None, new_lock: Lock | None, changed: list[Pair], waves: dict[str, int]
) -> tuple[list[ReleaseChange], list[ComponentUpgrade]]:
    """The release change and per-component version/image changes (components on both sides)."""
    releases: list[ReleaseChange] = []
    old_release, new_release = (old_lock.release if old_lock else None), (new_lock.release if new_lock else None)
    if old_release and new_release and old_release != new_release:
        releases.append(ReleaseChange(env, old_release, new_release))
    out: list[ComponentUpgrade] = []
    if old_lock is None or new_lock is None:
        for comp, images in sorted(_images_from_objects(changed).items()):
            out.append(ComponentUpgrade(env, comp, waves.get(comp), None, None, images))
        return releases, sorted(out, key=lambda u: order_key(u.wave, u.component, None, ResId("", "", "", "")))
    old_comps, new_comps = old_lock.components, new_lock.components
    for comp in sorted(set(old_comps) & set(new_comps)):
        before, after = old_comps[comp], new_comps[comp]
        old_images, new_images = before.images, after.images
        images = []
        for name in sorted(set(old_images) | set(new_images)):
            a, b = old_images.get(name), new_images.get(name)
            if a != b:
                images.append(ImageChange(name, "add" if a is None else "remove" if b is None else "change", a, b))
        old_version, new_version = before.version, after.version
        if images or old_version != new_version:
            out.append(ComponentUpgrade(env, comp, waves.get(comp), old_version, new_version, images))
    return releases, sorted(out, key=lambda u: order_key(u.wave, u.component, None, ResId("", "", "", "")))
