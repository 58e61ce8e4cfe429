"""Assemble stage: rendered text -> objects keyed by ResId; labels, namespaces, config digests, job names."""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, Iterator

import yaml

from ccp_gitops.compile.emit import load_all
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import InputError, Location, Problem
from ccp_gitops.model.resid import ResId

if TYPE_CHECKING:
    from ccp_gitops.compile.render import Rendered

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MANAGED_BY = {"app.kubernetes.io/managed-by": "ccp-gitops"}
COMPONENT_LABEL = "ccp-gitops.io/component"
CONFIG_DIGEST = "ccp-gitops.io/config-digest"
CONFIG_FILES = "ccp-gitops.io/config-files"
JOB_BASE_NAME = "ccp-gitops.io/job"
# A Job labelled so checks that its component works; it runs after, and reruns on any change of, the rest of it.
SMOKE_TEST = "ccp-gitops.io/smoke-test"
COMPONENT_DIGEST = "ccp-gitops.io/component-digest"
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
JOB_DIGEST_LEN = 8
JOB_NAME_MAX = 63


def pod_spec(body: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's metadata+spec holder of a workload, or None."""
    kind = body.get("kind")
    spec = body.get("spec") or {}
    if kind in POD_TEMPLATE_KINDS:
        template = spec.get("template")
    elif kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    else:
        return None
    return template if isinstance(template, dict) else None


def _containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod.get("spec") or {}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container


def config_refs(pod: dict[str, Any]) -> dict[str, set[str] | None]:
    """ConfigMaps a pod uses: name -> the keys it reads (None = all keys)."""
    refs: dict[str, set[str] | None] = {}

    def add(name: Any, keys: set[str] | None) -> None:
        if not isinstance(name, str) or (name in refs and refs[name] is None):
            return
        refs[name] = None if keys is None else (refs.get(name) or set()) | keys

    def items_keys(source: dict[str, Any]) -> set[str] | None:
        items = source.get("items")
        return {str(i.get("key")) for i in items} if items else None

    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if "configMap" in volume:
            add(volume["configMap"].get("name"), items_keys(volume["configMap"]))
        for src in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in src:
                add(src["configMap"].get("name"), items_keys(src["configMap"]))
    for container in _containers(pod):
        for env_from in container.get("envFrom") or []:
            if "configMapRef" in env_from:
                add(env_from["configMapRef"].get("name"), None)
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                add(ref.get("name"), {str(ref.get("key"))})
    return refs


def _short(data: Any, length: int = 12) -> str:
    text = data if isinstance(data, str) else json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _document_lines(text: str) -> list[int]:
    """1-based line where each document of a YAML stream starts (for messages)."""
    starts: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line == "---" or line.startswith("--- "):
            starts.append(number)
        elif not starts and line.strip() and not line.lstrip().startswith("#"):
            starts.append(number)
    return starts or [1]


def parse(env: Environment, rendered: Rendered, problems: list[Problem]) -> list[Obj]:
    """Turn one component's rendered manifest texts into objects, checking shape and names."""
    objs: list[Obj] = []
    labels = {**MANAGED_BY, **env.settings.get("labels", {}), COMPONENT_LABEL: rendered.component}
    for manifest in rendered.manifests:
        try:
            docs = manifest.documents if manifest.documents is not None else load_all(manifest.text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else 0
            problems.append(Problem(Location(manifest.template, line, 1), f"rendered output is not valid YAML (rendered line {line}): {exc.problem}"))
            continue
        starts = _document_lines(manifest.text)
        for index, doc in enumerate(docs):
            where = Location(manifest.template, starts[min(index, len(starts) - 1)], 1)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                problems.append(Problem(where, "each rendered document must be a Kubernetes object (a mapping)"))
                continue
            meta = doc.get("metadata")
            if not isinstance(doc.get("apiVersion"), str) or not isinstance(doc.get("kind"), str) or not isinstance(meta, dict):
                problems.append(Problem(where, "rendered object needs apiVersion, kind and metadata"))
                continue
            name = meta.get("name")
            if not isinstance(name, str) or len(name) > 253 or not DNS_SUBDOMAIN.match(name):
                problems.append(Problem(where, f"{doc['kind']} name {name!r} is not a DNS-1123 subdomain"))
                continue
            rid = ResId.of(doc, env.namespace)
            if not rid.cluster_scoped:
                meta["namespace"] = rid.namespace
            meta["labels"] = {**labels, **(meta.get("labels") or {})}
            objs.append(Obj(rid, doc, rendered.component, where))
    return objs


def _mount_problems(objs: list[Obj], problems: list[Problem]) -> None:
    """A subPath mount of a config volume must name a file the volume has (else an empty dir appears)."""
    configmaps = {(o.id.namespace, o.id.name): set(o.body.get("data") or {}) for o in objs if o.id.kind == "ConfigMap" and o.id.group == ""}
    for obj in objs:
        pod = pod_spec(obj.body)
        if pod is None:
            continue
        files: dict[str, set[str]] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            source = volume.get("configMap")
            if not isinstance(source, dict):
                continue
            if source.get("items"):
                files[volume.get("name")] = {str(i.get("path")) for i in source["items"]}
            elif (obj.id.namespace, str(source.get("name"))) in configmaps:
                files[volume.get("name")] = configmaps[(obj.id.namespace, str(source.get("name")))]
        for container in _containers(pod):
            for mount in container.get("volumeMounts") or []:
                name, sub = mount.get("name"), mount.get("subPath")
                if sub and name in files and sub not in files[name]:
                    problems.append(
                        Problem(obj.origin, f"{obj.id}: container {container.get('name')!r} mounts {sub!r} from volume {name!r}, which holds only {', '.join(sorted(files[name])) or 'nothing'}")
                    )


def _apply_config_digests(objs: list[Obj]) -> None:
    """Annotate every pod template with the digest of the config files it mounts (invariant 6)."""
    configmaps = {
        (o.id.namespace, o.id.name): o.body.get("data") or {} for o in objs if o.id.kind == "ConfigMap" and o.id.group == ""
    }
    for obj in objs:
        pod = pod_spec(obj.body)
        if pod is None:
            continue
        entries = []
        for name, keys in sorted(config_refs(pod).items()):
            data = configmaps.get((obj.id.namespace, name))
            if data is None:
                continue
            for key in sorted(keys if keys is not None else data):
                if key in data:
                    entries.append(f"{name}/{key}={_short(str(data[key]), 10)}")
        if not entries:
            continue
        meta = pod.setdefault("metadata", {})
        annotations = meta.setdefault("annotations", {})
        annotations[CONFIG_DIGEST] = _short(entries, 16)
        annotations[CONFIG_FILES] = " ".join(entries)


def is_smoke_test(obj: Obj) -> bool:
    """True for a component's smoke-test Job (label ``ccp-gitops.io/smoke-test: "true"``)."""
    labels = (obj.body.get("metadata") or {}).get("labels") or {}
    return obj.id.kind == "Job" and str(labels.get(SMOKE_TEST, "")).lower() == "true"


def _apply_component_digests(objs: list[Obj]) -> None:
    """Stamp every smoke-test Job's pod template with the digest of the rest of its component.

    The Job is then content-named after everything it tests: any change to the component renames
    it, and both engines run it again.
    """
    bodies: dict[str, list[Any]] = {}
    for obj in objs:
        if not is_smoke_test(obj):
            bodies.setdefault(obj.component, []).append([str(obj.id), obj.body])
    for obj in objs:
        pod = pod_spec(obj.body)
        if is_smoke_test(obj) and pod is not None:
            members = sorted(bodies.get(obj.component, []), key=lambda item: str(item[0]))
            pod.setdefault("metadata", {}).setdefault("annotations", {})[COMPONENT_DIGEST] = _short(members, 16)


def _dependency_env(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for container in _containers(pod):
        for env in container.get("env") or []:
            if env.get("name") == "DEPENDENCY_JOBS" and isinstance(env.get("value"), str):
                yield env


def _rewrite_waits(obj: Obj, renamed: dict[tuple[str, str], str]) -> None:
    """Point the DEPENDENCY_JOBS waits of a pod at the content-named Jobs."""
    pod = pod_spec(obj.body)
    for env in _dependency_env(pod) if pod is not None else ():
        names = [n.strip() for n in env["value"].split(",") if n.strip()]
        env["value"] = ",".join(renamed.get((obj.id.namespace, n), n) for n in names)


def _job_waits(obj: Obj) -> set[str]:
    pod = pod_spec(obj.body)
    return {n.strip() for env in (_dependency_env(pod) if pod else ()) for n in env["value"].split(",") if n.strip()}


def _name_jobs(objs: list[Obj], problems: list[Problem]) -> None:
    """Give every Job a name derived from its content, and rewrite waits on it to that name.

    Jobs are named in dependency order, so a Job that waits for another one carries that
    one's digest in its own content: when db-init changes, db-sync is renamed (and reruns) too.
    """
    jobs = {(o.id.namespace, o.id.name): o for o in objs if o.id.kind == "Job" and o.id.group == "batch"}
    renamed: dict[tuple[str, str], str] = {}
    pending = dict(jobs)
    while pending:
        ready = [key for key, job in pending.items() if not any((key[0], n) in pending for n in _job_waits(job))]
        if not ready:
            for job in pending.values():
                problems.append(Problem(job.origin, f"Job {job.id.name!r} is part of a DEPENDENCY_JOBS wait cycle"))
            return
        for key in sorted(ready):
            job = pending.pop(key)
            base = job.id.name
            if len(base) > JOB_NAME_MAX - JOB_DIGEST_LEN - 1:
                problems.append(Problem(job.origin, f"Job name {base!r} is too long: at most {JOB_NAME_MAX - JOB_DIGEST_LEN - 1} characters leave room for its digest"))
                continue
            _rewrite_waits(job, renamed)
            meta = job.body["metadata"]
            meta["labels"][JOB_BASE_NAME] = base
            new = f"{base}-{_short(job.body, JOB_DIGEST_LEN)}"
            meta["name"] = new
            renamed[key] = new
            job.id = ResId(job.id.group, job.id.kind, job.id.namespace, new)
    for obj in objs:
        if obj.id.kind != "Job":
            _rewrite_waits(obj, renamed)


def assemble(env: Environment, rendered: list[Rendered]) -> list[Obj]:
    """All objects of an environment, with unique ids, digests and content-named Jobs."""
    problems: list[Problem] = []
    objs: list[Obj] = []
    for item in rendered:
        objs.extend(parse(env, item, problems))
    if problems:
        raise InputError(problems)
    _mount_problems(objs, problems)
    _apply_config_digests(objs)
    _apply_component_digests(objs)
    _name_jobs(objs, problems)
    seen: dict[ResId, Obj] = {}
    for obj in objs:
        if obj.id in seen:
            first = seen[obj.id]
            problems.append(Problem(obj.origin, f"duplicate object {obj.id} (also rendered by {first.origin} in component {first.component})"))
        else:
            seen[obj.id] = obj
    if problems:
        raise InputError(problems)
    return objs
