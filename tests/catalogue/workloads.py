"""Helpers for the compute and network catalogue tests: what a workload mounts, waits for and
where it runs, and whether its volumes and mounts fit together."""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import Any

from ccp_gitops.compile.assemble import pod_spec

from .support import compiled, objects, parse_ini

WORKLOAD_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob"}


def pod(body: dict[str, Any]) -> dict[str, Any]:
    template = pod_spec(body)
    assert template is not None, f"{body['kind']} has no pod template"
    return dict(template["spec"])


def all_containers(body: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod(body)
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def config_keys(body: dict[str, Any], config_map: str) -> set[str]:
    """The keys of ``config_map`` a workload's pod mounts (its volume items)."""
    keys: set[str] = set()
    for volume in pod(body).get("volumes") or []:
        source = volume.get("configMap")
        if source and source["name"] == config_map:
            assert source.get("items"), f"{body['metadata']['name']} mounts all of {config_map}: list the files it reads"
            keys |= {item["key"] for item in source["items"]}
    return keys


def mounted_files(body: dict[str, Any], container: str) -> dict[str, str]:
    """mountPath -> ConfigMap key of every ConfigMap file one container mounts (by subPath)."""
    volumes = {v["name"]: v for v in pod(body).get("volumes") or []}
    (match,) = [c for c in all_containers(body) if c["name"] == container]
    out = {}
    for mount in match.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        if "configMap" in volume and "subPath" in mount:
            out[mount["mountPath"]] = mount["subPath"]
    return out


def check_volumes(body: dict[str, Any]) -> None:
    """Every mount names a volume of the pod, every subPath of a ConfigMap volume is one of its
    items (a missing item would mount an empty directory), and every volume is used."""
    name = body["metadata"]["name"]
    volumes = {v["name"]: v for v in pod(body).get("volumes") or []}
    used = set()
    for container in all_containers(body):
        for mount in container.get("volumeMounts") or []:
            assert mount["name"] in volumes, f"{name}/{container['name']}: no volume {mount['name']}"
            used.add(mount["name"])
            source = volumes[mount["name"]].get("configMap")
            if source and "subPath" in mount:
                items = {i["path"] for i in source.get("items") or []}
                assert mount["subPath"] in items, f"{name}/{container['name']}: {mount['subPath']} is not an item of {source['name']}"
    assert set(volumes) == used, f"{name}: unused volumes {set(volumes) - used}"


def host_paths(body: dict[str, Any]) -> set[str]:
    return {v["hostPath"]["path"] for v in pod(body).get("volumes") or [] if "hostPath" in v}


def waits(body: dict[str, Any]) -> dict[str, Any]:
    """services (without namespace), jobs (content names) and pod dependencies of a workload."""
    for container in pod(body).get("initContainers") or []:
        if container["name"] == "wait-for-dependencies":
            env = {e["name"]: e.get("value") for e in container["env"]}
            return {
                "services": [s.split(":", 1)[1] for s in env["DEPENDENCY_SERVICE"].split(",") if s],
                "jobs": [j for j in env["DEPENDENCY_JOBS"].split(",") if j],
                "pods": json.loads(env["DEPENDENCY_POD_JSON"]) if env["DEPENDENCY_POD_JSON"] else [],
            }
    return {"services": [], "jobs": [], "pods": []}


def same_node_pods(body: dict[str, Any]) -> list[str]:
    return sorted(p["labels"]["app.kubernetes.io/name"] for p in waits(body)["pods"] if p["requireSameNode"])


def node_label_sets(body: dict[str, Any]) -> list[dict[str, str]]:
    """The node label sets (ORed) a pod's required node affinity allows."""
    terms = pod(body)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    out = []
    for term in terms:
        labels = {}
        for expr in term["matchExpressions"]:
            assert expr["operator"] == "In" and len(expr["values"]) == 1
            labels[expr["key"]] = expr["values"][0]
        out.append(labels)
    return out


def workloads(root: Path, env: str, component: str) -> list[dict[str, Any]]:
    return [b for b in objects(root, env, component) if b["kind"] in WORKLOAD_KINDS]


def oslo_files(root: Path, env: str, component: str, config_map: str) -> dict[str, configparser.ConfigParser]:
    """Every .conf/.ini file of a component's ConfigMap, parsed as INI."""
    (cm,) = [b for b in objects(root, env, component) if b["kind"] == "ConfigMap" and b["metadata"]["name"] == config_map]
    return {key: parse_ini(text) for key, text in cm["data"].items() if key.endswith((".conf", ".ini"))}


def secret_refs(body: dict[str, Any]) -> set[tuple[str, str]]:
    """(secret, key) of every secretKeyRef in a workload."""
    refs = set()
    for container in all_containers(body):
        for var in container.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                refs.add((ref["name"], ref["key"]))
    return refs


def generated_secrets(root: Path, env: str) -> dict[str, set[str]]:
    """Secret name -> the keys its ExternalSecret writes (template data keys, else the generator's
    secretKeys, else `password`), over every component of an environment."""
    objs = compiled(root, env).objects
    generators = {o.id.name: o.body["spec"] for o in objs if o.id.kind == "Password"}
    out: dict[str, set[str]] = {}
    for obj in objs:
        if obj.id.kind == "ExternalSecret":
            target = obj.body["spec"]["target"]
            data = (target.get("template") or {}).get("data")
            generator = obj.body["spec"]["dataFrom"][0]["sourceRef"]["generatorRef"]["name"]
            out[target["name"]] = set(data) if data else set(generators[generator].get("secretKeys") or ["password"])
    return out
