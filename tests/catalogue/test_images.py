"""Images: every reference the bundled catalogue renders, in every overlay and for both release
columns of base/defaults.yaml, is pinned and is a tag its upstream builder publishes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from ccp_gitops.compile.assemble import pod_spec
from ccp_gitops.compile.parallel import compile_all

from .support import compiled

# every overlay of the bundled catalogue
ENVS = sorted(p.parent.name for p in (Path(__file__).resolve().parents[2] / "overlays").glob("*/env.yaml"))
RELEASES = ["2026.1", "2026.2"]
# name[:tag][@sha256:digest]; the name may carry a registry with a port
REFERENCE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._/-]*(:[0-9]+/[a-z0-9._/-]+)?)(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[0-9a-f]{64}))?$")
AIRSHIP = "quay.io/airshipit/"


def publishable_tag(repository: str, release: str) -> re.Pattern[str]:
    """The tags the upstream build config of an airshipit image publishes (see base/defaults.yaml)."""
    if repository == "openvswitch":  # openstack-helm-images zuul.d/openvswitch.yaml: dated tags only
        return re.compile(r"^ubuntu_noble-20[0-9]{6}$")
    if repository == "kubernetes-entrypoint":  # airship/kubernetes-entrypoint: the commit tag
        return re.compile(r"^[0-9a-f]{40}-ubuntu_noble$")
    # openstack-helm-images zuul.d/<image>.yaml: <release>-ubuntu_noble[-<YYYYMMDD>]
    return re.compile(rf"^{re.escape(release)}-ubuntu_noble(-20[0-9]{{6}})?$")


def pin_problems(reference: str, release: str) -> list[str]:
    """Why a reference is not pinned to a published image (empty when it is)."""
    match = REFERENCE.match(reference)
    if match is None:
        return [f"{reference}: not an image reference"]
    tag, digest, name = match.group("tag"), match.group("digest"), match.group("name")
    if tag is None and digest is None:
        return [f"{reference}: untagged (means latest)"]
    if tag is not None and (tag == "latest" or tag.startswith("latest-") or tag.endswith("-latest")):
        return [f"{reference}: moving tag {tag!r}"]
    if name.startswith(AIRSHIP) and digest is None:
        repository = name[len(AIRSHIP):]
        if not publishable_tag(repository, release).match(tag or ""):
            return [f"{reference}: {AIRSHIP}{repository} publishes no tag like {tag!r} for {release}"]
    return []


def images(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(object, image) of every container and init container."""
    for body in objects:
        pod = pod_spec(body)
        spec = (pod or {}).get("spec") or {}
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            yield f"{body['kind']}/{body['metadata']['name']}", str(container["image"])


@pytest.fixture(scope="module")
def next_release_catalogue(tmp_path_factory: pytest.TempPathFactory, catalogue: Path) -> Path:
    """A copy of the catalogue whose base selects the 2026.2 column."""
    root = tmp_path_factory.mktemp("catalogue-2026.2")
    for part in ("base", "components", "overlays", "schemas"):
        shutil.copytree(catalogue / part, root / part)
    defaults = root / "base" / "defaults.yaml"
    text = defaults.read_text()
    assert 'openstack_release: "2026.1"' in text
    defaults.write_text(text.replace('openstack_release: "2026.1"', 'openstack_release: "2026.2"'))
    return root


@pytest.fixture(scope="module")
def catalogue() -> Path:
    return Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("release", RELEASES)
def test_the_release_matrix_names_published_pinned_images(catalogue: Path, release: str) -> None:
    matrix = yaml.safe_load((catalogue / "base" / "defaults.yaml").read_text())["releases"][release]["images"]
    problems = [p for reference in matrix.values() for p in pin_problems(reference, release)]
    assert problems == []
    assert matrix["openstack-client"].startswith(f"{AIRSHIP}openstack-client:"), "the registration Jobs need the openstack CLI"


@pytest.mark.parametrize("env", ENVS)
def test_every_rendered_image_is_pinned_2026_1(catalogue: Path, env: str) -> None:
    result = compiled(catalogue, env)
    assert result.env.settings["openstack_release"] == "2026.1"
    found = list(images([o.body for o in result.objects]))
    assert found, "no workload rendered"
    assert [f"{where}: {p}" for where, ref in found for p in pin_problems(ref, "2026.1")] == []


def test_every_rendered_image_is_pinned_2026_2(next_release_catalogue: Path) -> None:
    results = compile_all(next_release_catalogue, ENVS, check=False)
    problems = []
    for result in results:
        assert result.env.settings["openstack_release"] == "2026.2"
        found = list(images([o.body for o in result.objects]))
        assert any(ref.endswith(":2026.2-ubuntu_noble") for _, ref in found)
        problems += [f"{result.env.name}: {where}: {p}" for where, ref in found for p in pin_problems(ref, "2026.2")]
    assert problems == []


@pytest.mark.parametrize("env", ENVS)
def test_registration_jobs_run_the_openstack_client_image(catalogue: Path, env: str) -> None:
    jobs = [o.body for o in compiled(catalogue, env).objects if o.id.kind == "Job" and "-ks-register-" in o.id.name]
    assert jobs
    for job in jobs:
        (container,) = pod_spec(job)["spec"]["containers"]  # type: ignore[index]
        assert container["image"].startswith(f"{AIRSHIP}openstack-client:2026.1-ubuntu_noble"), job["metadata"]["name"]


@pytest.mark.parametrize(
    "reference, release, bad",
    [
        ("quay.io/airshipit/keystone:2026.1-ubuntu_noble", "2026.1", False),
        ("quay.io/airshipit/keystone:2026.1-ubuntu_noble-20260517", "2026.1", False),
        ("quay.io/airshipit/keystone:2026.2-ubuntu_noble", "2026.1", True),
        ("quay.io/airshipit/openvswitch:2026.1-ubuntu_noble", "2026.1", True),
        ("quay.io/airshipit/openvswitch:latest-ubuntu_noble", "2026.1", True),
        ("quay.io/airshipit/kubernetes-entrypoint:latest-ubuntu_jammy", "2026.1", True),
        ("quay.io/airshipit/openvswitch@sha256:" + "a" * 64, "2026.1", False),
        ("docker.io/library/memcached", "2026.1", True),
        ("docker.io/library/memcached:latest", "2026.1", True),
        ("registry.local:5000/memcached:1.6.38", "2026.1", False),
    ],
)
def test_pin_rule(reference: str, release: str, bad: bool) -> None:
    assert bool(pin_problems(reference, release)) is bad
