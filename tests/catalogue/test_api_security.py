"""Every OpenStack API Deployment (a Deployment a Service routes to) runs as a non-root user
with every capability dropped and no privilege escalation, in every container of its pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccp_gitops.compile.assemble import pod_spec

from .support import compiled

ENVS = ["dev", "staging", "prod", "prod-eu"]
SERVICES = ["keystone", "glance", "placement", "nova", "neutron", "horizon"]


def api_deployments(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Deployments some Service of the same component selects."""
    selectors = [o["spec"]["selector"] for o in objs if o["kind"] == "Service" and o["spec"].get("selector")]
    out = []
    for obj in objs:
        if obj["kind"] != "Deployment":
            continue
        labels = (pod_spec(obj) or {})["metadata"]["labels"]
        if any(all(labels.get(k) == v for k, v in sel.items()) for sel in selectors):
            out.append(obj)
    return out


def hardening_problems(deployment: dict[str, Any]) -> list[str]:
    name = deployment["metadata"]["name"]
    spec = (pod_spec(deployment) or {})["spec"]
    pod_sc = spec.get("securityContext") or {}
    problems = []
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        sc = container.get("securityContext") or {}
        where = f"{name}/{container['name']}"
        user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) or user in (None, 0):
            problems.append(f"{where}: not forced to a non-root user")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: privilege escalation allowed")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []) or (sc.get("capabilities") or {}).get("add"):
            problems.append(f"{where}: capabilities not all dropped")
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
    return problems


@pytest.mark.parametrize("env", ENVS)
def test_every_api_deployment_is_non_root_without_capabilities(catalogue: Path, env: str) -> None:
    result = compiled(catalogue, env)
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    for component in SERVICES:
        objs = [o.body for o in result.objects if o.component == component]
        apis = api_deployments(objs)
        found[component] = [d["metadata"]["name"] for d in apis]
        for deployment in apis:
            problems += hardening_problems(deployment)
    assert all(found.values()), f"a component has no API Deployment: {found}"
    assert "keystone-api" in found["keystone"]
    assert problems == []


def test_the_check_refuses_a_root_container() -> None:
    deployment = {
        "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"template": {"metadata": {"labels": {}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }  # fmt: skip
    assert len(hardening_problems(deployment)) == 3
