"""Smoke checks of the running e2e cloud through python-openstackclient, as admin and as a fresh member.

The `member` persona is a user created by the tests in a project created by the tests, with
Keystone's `member` role only: what a tenant of the cloud can do. The checks live in
`tests/e2e/smoke.py` so that later phases on the same cloud (an upgrade) can run them again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import smoke
from tests.e2e.cloud import Cloud, Creds
from tests.e2e.conftest import ON_THE_CLOUD
from tests.e2e.objects import Key

pytestmark = [pytest.mark.e2e, ON_THE_CLOUD]


@pytest.fixture(params=["admin", "member"])
def who(request: pytest.FixtureRequest, cloud: Cloud) -> Creds:
    if request.param == "admin":
        return cloud.admin()
    creds: Creds = request.getfixturevalue("member")
    return creds


def test_token_issue(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.token_issue(cloud, who, tmp_path)


def test_catalog_lists_every_service_and_each_endpoint_answers(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.catalog_endpoints_answer(cloud, who, tmp_path)


def test_image_create_upload_download_checksum(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.image_round_trip(cloud, who, tmp_path)


def test_placement_lists_the_fake_computes_resource_provider(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.placement_resource_providers(cloud, who, tmp_path)


def test_compute_service_list_shows_conductor_scheduler_compute_up(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.compute_services_up(cloud, who, tmp_path)


def test_network_subnet_and_port_create_and_delete(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.network_subnet_port(cloud, who, tmp_path)


def test_server_boots_to_active_on_the_fake_driver(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.server_boots(cloud, who, tmp_path)


def test_horizon_login_page_answers(cloud: Cloud, tmp_path: Path) -> None:
    smoke.horizon_login_page(cloud, cloud.admin(), tmp_path)


def test_horizon_login_with_the_users_credentials(cloud: Cloud, who: Creds, tmp_path: Path) -> None:
    smoke.horizon_login(cloud, who, tmp_path)


def test_every_rendered_smoke_test_job_ran_and_succeeded(cloud: Cloud) -> None:
    """The catalogue's own smoke-test Jobs (label ccp-gitops.io/smoke-test, each service's last wave):
    every one the environment renders was applied, ran and succeeded in this run, on its first pod."""
    run = cloud.run
    rendered = {str(o["metadata"]["name"]) for s in run.units for g in s.unit.groups for o in g
                if o.get("kind") == "Job" and (o["metadata"].get("labels") or {}).get("ccp-gitops.io/smoke-test")}
    services = {name.split("-smoke-test")[0] for name in rendered}
    assert {"keystone", "glance", "placement", "nova", "neutron", "horizon"} <= services, rendered
    for name in sorted(rendered):
        key = Key("Job", run.cluster.namespace, name)
        assert key in run.cluster.objects, f"Job {name} was never applied"
        assert run.controllers.job_succeeded(key), f"Job {name} did not succeed: {run.summary()}"
        assert sum(p.restarts() for p in run.controllers.owned(key)) == 0, f"Job {name} needed restarts"
