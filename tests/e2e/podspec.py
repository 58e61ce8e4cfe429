"""From a pod's spec to what podinit needs: env, argv, user, volumes on disk and their mounts."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.network import NODE_IP
from tests.e2e.objects import Key, Obj, RunError
from tests.e2e.profiles import Profile
from tests.e2e.scheduling import pod_hostname

_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class NotYet(Exception):
    """The container cannot start yet (a ConfigMap or Secret it needs is missing), as in Kubernetes."""


@dataclass
class PodView:
    """What a container's spec is resolved against: the pod's identity and the objects it reads."""

    name: str
    namespace: str
    ip: str
    node: str
    labels: dict[str, str]
    spec: Obj
    dir: Path
    pvc_dirs: dict[str, Path]
    configmaps: dict[Key, dict[str, str]]
    secrets: dict[Key, dict[str, str]]
    service_env: dict[str, str] = field(default_factory=dict)


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined variables are replaced, `$$` is a literal `$`."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR.sub(sub, text)


def _lookup(pod: PodView, kind: str, name: str, key: str | None, optional: bool) -> dict[str, str] | str | None:
    store = pod.configmaps if kind == "ConfigMap" else pod.secrets
    data = store.get(Key(kind, pod.namespace, name))
    if data is None:
        if optional:
            return None
        raise NotYet(f"{kind.lower()} {name!r} not found")
    if key is None:
        return data
    if key not in data:
        if optional:
            return None
        raise NotYet(f"key {key!r} not found in {kind.lower()} {name!r}")
    return data[key]


def _field(pod: PodView, path: str) -> str:
    fields = {"metadata.name": pod.name, "metadata.namespace": pod.namespace, "status.podIP": pod.ip,
              "status.hostIP": NODE_IP, "spec.nodeName": pod.node,
              "spec.serviceAccountName": str(pod.spec.get("serviceAccountName", "default"))}
    m = re.fullmatch(r"metadata\.labels\['(.+)'\]", path)
    if m:
        return pod.labels.get(m.group(1), "")
    if path not in fields:
        raise RunError(f"pod {pod.name}: fieldRef {path} is not supported by the runner")
    return fields[path]


def _value_from(pod: PodView, source: Obj) -> str | None:
    if "fieldRef" in source:
        return _field(pod, str(source["fieldRef"]["fieldPath"]))
    for ref, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
        if ref in source:
            sel = source[ref]
            got = _lookup(pod, kind, str(sel["name"]), str(sel["key"]), bool(sel.get("optional")))
            return None if got is None else str(got)
    raise RunError(f"pod {pod.name}: env valueFrom {sorted(source)} is not supported by the runner")


def container_env(pod: PodView, container: Obj, profile: Profile) -> dict[str, str]:
    """The environment: image ENV, HOSTNAME, Service links, envFrom, then `env` in order."""
    env = dict(profile.env)
    env["HOSTNAME"] = pod_hostname(pod.spec, pod.name)
    if pod.spec.get("enableServiceLinks", True):
        env.update(pod.service_env)
    for source in container.get("envFrom") or []:
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        data = _lookup(pod, kind, str(ref["name"]), None, bool(ref.get("optional")))
        if isinstance(data, dict):
            env.update({str(source.get("prefix", "")) + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        if "valueFrom" in var:
            value = _value_from(pod, var["valueFrom"])
            if value is not None:
                env[str(var["name"])] = value
        else:
            env[str(var["name"])] = expand(str(var.get("value", "")), env)
    return env


def container_argv(container: Obj, profile: Profile, env: dict[str, str]) -> list[str]:
    """Kubernetes' rule: `command` replaces ENTRYPOINT (and drops CMD); `args` replace CMD."""
    command = container.get("command")
    args = container.get("args")
    if command:
        argv = [str(a) for a in command] + [str(a) for a in args or []]
    else:
        argv = list(profile.entrypoint) + ([str(a) for a in args] if args else list(profile.cmd))
    if not argv:
        raise RunError(f"container {container['name']}: no command and its image profile names none")
    return [expand(a, env) for a in argv]


def container_user(pod: PodView, container: Obj, profile: Profile) -> tuple[int, int, list[int]]:
    """uid, gid and supplementary groups from the securityContexts, else the image's USER."""
    pod_sc = pod.spec.get("securityContext") or {}
    sc = {**pod_sc, **(container.get("securityContext") or {})}
    uid = int(sc["runAsUser"]) if sc.get("runAsUser") is not None else profile.user[0]
    gid = int(sc["runAsGroup"]) if sc.get("runAsGroup") is not None else profile.user[1]
    groups = [int(g) for g in pod_sc.get("supplementalGroups") or []]
    if pod_sc.get("fsGroup") is not None:
        groups.append(int(pod_sc["fsGroup"]))
    return uid, gid, groups


def _write_files(target: Path, data: dict[str, str], source: Obj, fs_group: int | None) -> None:
    """A ConfigMap/Secret volume: its keys (or `items`) as files with their modes."""
    target.mkdir(parents=True, exist_ok=True)
    default_mode = int(source.get("defaultMode", 0o644))
    items = source.get("items") or [{"key": k, "path": k} for k in data]
    for item in items:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise NotYet(f"key {item['key']!r} is missing for volume file {item['path']}")
        path = target / str(item["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[str(item["key"])])
        os.chmod(path, int(item.get("mode", default_mode)))
        if fs_group is not None:
            os.chown(path, -1, fs_group)


def _own(path: Path, fs_group: int | None, mode: int) -> None:
    os.chmod(path, mode)
    if fs_group is not None:
        os.chown(path, -1, fs_group)
        os.chmod(path, mode | 0o2070)


def volume_dirs(pod: PodView) -> dict[str, Path]:
    """Materialise every volume of the pod under its scratch dir; returns volume name -> path."""
    fs_group_raw = (pod.spec.get("securityContext") or {}).get("fsGroup")
    fs_group = int(fs_group_raw) if fs_group_raw is not None else None
    out: dict[str, Path] = {}
    for vol in pod.spec.get("volumes") or []:
        name = str(vol["name"])
        path = pod.dir / "volumes" / name
        if "configMap" in vol or "secret" in vol:
            kind, src = ("ConfigMap", vol["configMap"]) if "configMap" in vol else ("Secret", vol["secret"])
            ref = str(src.get("name") or src.get("secretName"))
            data = _lookup(pod, kind, ref, None, bool(src.get("optional")))
            if path.exists():
                shutil.rmtree(path)
            _write_files(path, data if isinstance(data, dict) else {}, src, fs_group)
        elif "emptyDir" in vol:
            path.mkdir(parents=True, exist_ok=True)
            _own(path, fs_group, 0o777)
        elif "persistentVolumeClaim" in vol:
            path = pod.pvc_dirs[str(vol["persistentVolumeClaim"]["claimName"])]
            path.mkdir(parents=True, exist_ok=True)
            _own(path, fs_group, 0o777 if fs_group is None else 0o775)
        elif "hostPath" in vol:
            path = pod.dir.parent.parent / "hostpath" / str(vol["hostPath"]["path"]).lstrip("/")
            path.mkdir(parents=True, exist_ok=True)
        else:
            raise RunError(f"pod {pod.name}: volume {name} of type {sorted(set(vol) - {'name'})} "
                           "is not supported by the runner")
        out[name] = path
    for claim, path in pod.pvc_dirs.items():
        if claim not in out:
            path.mkdir(parents=True, exist_ok=True)
            _own(path, fs_group, 0o777 if fs_group is None else 0o775)
            out[claim] = path
    return out


def mounts(pod: PodView, container: Obj, profile: Profile, volumes: dict[str, Path], hosts: Path,
           resolv: Path) -> list[dict[str, Any]]:
    """podinit's mount list: profile paths, /etc/hosts and /etc/resolv.conf, volumeMounts parents first."""
    out: list[dict[str, Any]] = []
    for p in profile.paths:
        if p.host is None:
            out.append({"target": p.image, "kind": "empty", "mode": p.mode})
        else:
            out.append({"target": p.image, "source": p.host, "kind": "overlay" if Path(p.host).is_dir() else "bind",
                        "readonly": not Path(p.host).is_dir()})
    out.append({"target": "/etc/hosts", "source": str(hosts), "kind": "bind", "readonly": True})
    out.append({"target": "/etc/resolv.conf", "source": str(resolv), "kind": "bind", "readonly": True})
    vol_mounts = []
    for vm in container.get("volumeMounts") or []:
        name = str(vm["name"])
        if name not in volumes:
            raise RunError(f"pod {pod.name}: container {container['name']} mounts unknown volume {name}")
        source = volumes[name] / str(vm["subPath"]) if vm.get("subPath") else volumes[name]
        if not source.exists():
            source.mkdir(parents=True)
        vol_mounts.append({"target": str(vm["mountPath"]), "source": str(source), "kind": "bind",
                           "readonly": bool(vm.get("readOnly"))})
    vol_mounts.sort(key=lambda m: str(m["target"]).count("/"))
    return out + vol_mounts
