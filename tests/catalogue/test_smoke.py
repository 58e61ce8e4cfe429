"""Health means working: one read-only smoke-test Job per OpenStack service, in the last wave of its
component, content-named after the whole component, with credentials from the generated Secrets;
Argo CD's Application health and Flux's `wait` both cover it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccp_gitops.compile.assemble import COMPONENT_DIGEST, JOB_BASE_NAME, SMOKE_TEST, pod_spec
from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.compile.pipeline import Compiled
from ccp_gitops.compile.waves import SYNC_WAVE

from .support import compiled, env_of

ENVS = ["dev", "staging", "prod", "prod-eu"]
# component -> (user, Secret with its password); horizon's login page needs none
SERVICES: dict[str, tuple[str | None, str | None]] = {
    "keystone": ("admin", "keystone-admin"),
    "glance": ("glance", "glance-keystone"),
    "placement": ("placement", "placement-keystone"),
    "nova": ("nova", "nova-keystone"),
    "neutron": ("neutron", "neutron-keystone"),
    "horizon": (None, None),
}
READ_ONLY_VERBS = {"list", "show", "issue"}
OPENSTACK_CALL = re.compile(r"^openstack (?P<words>[a-z ]+?) (?=-|\"|\$|\||>|$)", re.MULTILINE)


def smoke_jobs(result: Compiled, component: str) -> list[dict[str, Any]]:
    return [o.body for o in result.objects if o.component == component and o.id.kind == "Job"
            and o.body["metadata"]["labels"].get(SMOKE_TEST) == "true"]  # fmt: skip


def wave(body: dict[str, Any]) -> int:
    return int(body["metadata"]["annotations"][SYNC_WAVE])


@pytest.mark.parametrize("env", ENVS)
def test_one_smoke_job_per_service_in_its_last_wave(catalogue: Path, env: str) -> None:
    result = compiled(catalogue, env)
    for component in SERVICES:
        (job,) = smoke_jobs(result, component)
        assert job["metadata"]["labels"][JOB_BASE_NAME] == f"{component}-smoke-test"
        others = [o.body for o in result.objects if o.component == component and o.body is not job]
        assert wave(job) > max(wave(o) for o in others), f"{component}: the smoke test is not alone in the last wave"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_smoke_jobs_read_with_generated_credentials(catalogue: Path, env: str, tmp_path: Path) -> None:
    result = compiled(catalogue, env)
    generated = {o.body["spec"]["target"]["name"] for o in result.objects if o.id.kind == "ExternalSecret"}
    for component, (user, secret) in SERVICES.items():
        (job,) = smoke_jobs(result, component)
        (container,) = (pod_spec(job) or {})["spec"]["containers"]
        assert container["image"].startswith("quay.io/airshipit/openstack-client:")
        variables = env_of(container)
        script = container["command"][-1]
        if user is None:
            assert "OS_PASSWORD" not in variables and "urlopen" in script
        else:
            assert variables["OS_USERNAME"] == user and variables["OS_INTERFACE"] == "internal"
            assert variables["OS_PASSWORD"] == (secret, "password") and secret in generated
            calls = [m.group("words").split() for m in OPENSTACK_CALL.finditer(script)]
            assert calls[0] == ["token", "issue"], f"{component}: authenticate first"
            assert len(calls) >= 2, f"{component}: the service's own API is called with the token"
            assert [c for c in calls if c[-1] not in READ_ONLY_VERBS] == [], f"{component}: smoke tests only read"
        path = tmp_path / f"{component}.sh"
        path.write_text(script)
        assert subprocess.run(["/bin/sh", "-n", str(path)], capture_output=True).returncode == 0


def test_a_change_reruns_only_that_components_smoke_test(source_copy: Path) -> None:
    (before,) = compile_all(source_copy, ["dev"], check=False)
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    text = overlay.read_text()
    assert "  glance:\n" in text
    overlay.write_text(text.replace("  glance:\n", "  glance:\n    conf:\n      glance-api.conf:\n        DEFAULT: {workers: 3}\n", 1))
    (after,) = compile_all(source_copy, ["dev"], check=False)
    renamed = {c for c in SERVICES if smoke_jobs(before, c)[0]["metadata"]["name"] != smoke_jobs(after, c)[0]["metadata"]["name"]}
    assert renamed == {"glance"}
    old, new = smoke_jobs(before, "glance")[0], smoke_jobs(after, "glance")[0]
    assert (pod_spec(old) or {})["metadata"]["annotations"][COMPONENT_DIGEST] != (pod_spec(new) or {})["metadata"]["annotations"][COMPONENT_DIGEST]


def test_flux_waits_for_the_smoke_jobs(catalogue: Path) -> None:
    (result,) = compile_all(catalogue, ["prod"], check=False, engines=["flux"])
    for component in SERVICES:
        kustomization = yaml.safe_load(result.tree.files[f"env/prod/delivery/flux/kustomization-prod-{component}.yaml"])
        assert kustomization["spec"]["wait"] is True, component  # kstatus: a Job is Current once Complete
        job = smoke_jobs(result, component)[0]
        listed = yaml.safe_load(result.tree.files[f"env/prod/{component}/kustomization.yaml"])["resources"]
        assert any(job["metadata"]["name"] in entry for entry in listed), f"{component}: the smoke Job is not applied"
