"""Properties of the whole catalogue in every environment: references resolve, no secret in git,
and a config change rolls exactly the workloads that mount the changed file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from ccp_gitops.compile.assemble import CONFIG_DIGEST, CONFIG_FILES, pod_spec
from ccp_gitops.compile.parallel import compile_all

from .support import compiled

ENVS = ["dev", "staging", "prod", "prod-eu"]


def _pod_refs(pod: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(kind, name, optional) of every ConfigMap and Secret a pod mounts or reads."""
    spec = pod.get("spec") or {}
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"]["name"], bool(volume["configMap"].get("optional"))
        if "secret" in volume:
            yield "Secret", volume["secret"]["secretName"], bool(volume["secret"].get("optional"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if key in source:
                    yield kind, source[key]["name"], bool(source[key].get("optional"))
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for source in container.get("envFrom") or []:
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in source:
                    yield kind, source[key]["name"], bool(source[key].get("optional"))
        for var in container.get("env") or []:
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                ref = (var.get("valueFrom") or {}).get(key)
                if ref:
                    yield kind, ref["name"], bool(ref.get("optional"))


@pytest.mark.parametrize("env", ENVS)
def test_every_mounted_or_referenced_config_and_secret_exists(catalogue: Path, env: str) -> None:
    objs = compiled(catalogue, env).objects
    config_maps = {o.id.name for o in objs if o.id.kind == "ConfigMap"}
    generated = {o.body["spec"]["target"]["name"] for o in objs if o.id.kind == "ExternalSecret"}
    missing = []
    for obj in objs:
        pod = pod_spec(obj.body)
        for kind, name, optional in _pod_refs(pod) if pod else ():
            known = config_maps if kind == "ConfigMap" else generated
            if name not in known and not optional:
                missing.append(f"{obj.id} needs {kind} {name}")
    assert missing == []


# a user:password@ in a URL, except the placeholders External Secrets ({{ .password }}) and
# nova's cell-mapping templates ({username}:{password}, filled in by each nova process) stand for
CREDENTIAL_IN_URL = re.compile(r"://(?!\{username\}:\{password\}@)[^/\s:@'\"]+:(?!\{\{)[^@\s'\"]+@")
SECRET_OPTION = re.compile(r"^[ \t]*[\w.-]*(password|secret|_token|_key)[ \t]*[=:][ \t]*(?P<value>\S.*)$", re.IGNORECASE | re.MULTILINE)
ALLOWED_VALUES = re.compile(r"^(\$|'?\{\{|/|\"?\{\{|os\.environ|true|false|none|null|\[\]|\{\})", re.IGNORECASE)


@pytest.mark.parametrize("env", ENVS)
def test_no_secret_in_the_env_repo(catalogue: Path, env: str) -> None:
    result = compiled(catalogue, env)
    assert not [o for o in result.objects if o.id.kind == "Secret"]
    leaks = []
    for path, data in result.tree.files.items():
        text = data.decode()
        leaks += [f"{path}: {m.group(0)}" for m in CREDENTIAL_IN_URL.finditer(text)]
        for match in SECRET_OPTION.finditer(text):
            value = match.group("value").strip()
            if not ALLOWED_VALUES.match(value) and not value.endswith(("_key_ref", "Ref:")):
                leaks.append(f"{path}: {match.group(0).strip()}")
    assert leaks == []


def test_one_option_rolls_exactly_the_workloads_that_mount_its_file(source_copy: Path) -> None:
    [before] = compile_all(source_copy, ["prod"], check=False)
    env_file = source_copy / "overlays/prod/env.yaml"
    text = env_file.read_text()
    start = text.index("  neutron:\n")
    at = text.index("    conf:\n", start) + len("    conf:\n")
    env_file.write_text(text[:at] + "      ml2_conf.ini:\n        ml2_type_vxlan:\n          vni_ranges: 1:2000\n" + text[at:])
    [after] = compile_all(source_copy, ["prod"], check=False)

    def digests(objs: list[Any]) -> dict[str, tuple[str, str]]:
        out = {}
        for obj in objs:
            pod = pod_spec(obj.body)
            if pod is not None and obj.id.kind != "Job":
                annotations = (pod.get("metadata") or {}).get("annotations") or {}
                out[str(obj.id)] = (annotations.get(CONFIG_DIGEST, ""), annotations.get(CONFIG_FILES, ""))
        return out

    old, new = digests(before.objects), digests(after.objects)
    rolled = {name for name in new if old.get(name, ("", ""))[0] != new[name][0]}
    mounting = {name for name, (_, files) in new.items() if "neutron-etc/ml2_conf.ini=" in files}
    assert rolled == mounting
    assert mounting and len(mounting) < len(new)


def test_the_secret_detector_finds_secrets() -> None:
    assert CREDENTIAL_IN_URL.search("connection = mysql+pymysql://nova:s3cret@mariadb/nova")
    assert not CREDENTIAL_IN_URL.search("connection: mysql+pymysql://nova:{{ .password }}@mariadb/nova")
    found = SECRET_OPTION.search("[keystone_authtoken]\nadmin_password = hunter2\n")
    assert found and not ALLOWED_VALUES.match(found.group("value"))
