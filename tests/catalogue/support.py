"""Helpers for the catalogue tests: compile the bundled source in-process once per environment
and look at what one component produced (objects, config files, dependency list)."""

from __future__ import annotations

import configparser
import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ccp_gitops.compile.assemble import JOB_BASE_NAME, pod_spec
from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.compile.pipeline import Compiled


@functools.lru_cache(maxsize=None)
def compiled(root: Path, env: str) -> Compiled:
    """The real pipeline (load .. layout) on the bundled catalogue; cached per environment."""
    (result,) = compile_all(root, [env])
    return result


def objects(root: Path, env: str, component: str) -> list[dict[str, Any]]:
    return [o.body for o in compiled(root, env).objects if o.component == component]


def base_name(body: dict[str, Any]) -> str:
    """An object's name; for a Job its base name (before the content digest)."""
    if body["kind"] == "Job":
        return str(body["metadata"]["labels"][JOB_BASE_NAME])
    return str(body["metadata"]["name"])


def inventory(root: Path, env: str, component: str) -> set[tuple[str, str]]:
    """(kind, name) of every object a component rendered; Jobs by their base name."""
    return {(b["kind"], base_name(b)) for b in objects(root, env, component)}


def find(root: Path, env: str, component: str, kind: str, name: str) -> dict[str, Any]:
    matches = [b for b in objects(root, env, component) if b["kind"] == kind and base_name(b) == name]
    assert len(matches) == 1, f"{kind}/{name} in {component}@{env}: {len(matches)} found"
    return matches[0]


def config_file(root: Path, env: str, component: str, config_map: str, key: str) -> str:
    data = find(root, env, component, "ConfigMap", config_map)["data"]
    assert key in data, f"{config_map} has no {key} (has {sorted(data)})"
    return str(data[key])


def parse_ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def containers(body: dict[str, Any], init: bool = False) -> list[dict[str, Any]]:
    pod = pod_spec(body)
    assert pod is not None, f"{body['kind']} has no pod template"
    return list(pod["spec"].get("initContainers" if init else "containers") or [])


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """name -> value, or name -> (secret, key) for secretKeyRef variables."""
    out: dict[str, Any] = {}
    for var in container.get("env") or []:
        ref = (var.get("valueFrom") or {}).get("secretKeyRef")
        out[var["name"]] = (ref["name"], ref["key"]) if ref else var.get("value")
    return out


def dependency_waits(body: dict[str, Any]) -> dict[str, list[str]]:
    """What the wait-for-dependencies init container waits for (services without namespace)."""
    for container in containers(body, init=True):
        if container["name"] == "wait-for-dependencies":
            env = env_of(container)
            services = [s.split(":", 1)[1] for s in env["DEPENDENCY_SERVICE"].split(",") if s]
            jobs = [j for j in env["DEPENDENCY_JOBS"].split(",") if j]
            return {"services": services, "jobs": jobs}
    return {"services": [], "jobs": []}


def job_base(root: Path, env: str, job_name: str) -> str:
    """The base name of a content-named Job of an environment."""
    for obj in compiled(root, env).objects:
        if obj.id.kind == "Job" and obj.id.name == job_name:
            return base_name(obj.body)
    raise AssertionError(f"no Job named {job_name} in {env}")


def kustomize_build(root: Path, env: str, dest: Path) -> str:
    """Write the compiled env tree under ``dest`` and build it the way Argo CD / Flux would."""
    tree = compiled(root, env).tree
    for rel, data in tree.files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    tool = ["kustomize", "build"] if shutil.which("kustomize") else ["kubectl", "kustomize"]
    done = subprocess.run([*tool, str(dest / tree.root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout




def smoke_test(component: str) -> set[tuple[str, str]]:
    """What a component's smoke-test Job adds to its inventory (the Job and its waiting RBAC)."""
    name = f"{component}-smoke-test"
    return {("Job", name), ("ServiceAccount", name), ("Role", name + "-wait"), ("RoleBinding", name + "-wait")}
