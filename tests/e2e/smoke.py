"""The smoke checks of a running cloud as plain functions: the tests call them, so can a later phase (an upgrade).

Each check takes the running `Cloud`, the persona's credentials and a scratch directory, and raises
AssertionError on a failure. `run_smoke_checks` runs them all for every persona and returns the
failures, so that a test driving the same cloud through more phases can check it after each one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote_plus

from tests.e2e.cloud import Cloud, Creds

SERVICE_TYPES = {"identity", "image", "placement", "compute", "network"}
NOVA_SERVICES = {"nova-conductor", "nova-scheduler", "nova-compute"}
FLAVOR = "smoke-tiny"
Check = Callable[[Cloud, Creds, Path], None]


def name(kind: str) -> str:
    """A fresh resource name."""
    return f"smoke-{kind}-{secrets.token_hex(3)}"


def make_member(cloud: Cloud) -> Creds:
    """A fresh user in a fresh project, with Keystone's `member` role there only."""
    admin = cloud.admin()
    suffix = secrets.token_hex(4)
    creds = Creds(f"smoke-user-{suffix}", secrets.token_urlsafe(18), f"smoke-project-{suffix}")
    cloud.openstack(admin, "project", "create", "--domain", "default", creds.project)
    cloud.openstack(admin, "user", "create", "--domain", "default", "--password", creds.password, creds.username)
    cloud.openstack(admin, "role", "add", "--project", creds.project, "--user", creds.username, "member")
    return creds


def drop_member(cloud: Cloud, creds: Creds) -> None:
    """Remove what make_member made."""
    cloud.openstack(cloud.admin(), "user", "delete", creds.username, check=False)
    cloud.openstack(cloud.admin(), "project", "delete", creds.project, check=False)


def token_issue(cloud: Cloud, who: Creds, tmp: Path) -> None:
    token = cloud.json(who, "token", "issue")
    project = cloud.json(cloud.admin(), "project", "show", "--domain", "default", who.project)
    assert token["id"] and token["user_id"]
    assert token["project_id"] == project["id"]


def catalog_endpoints_answer(cloud: Cloud, who: Creds, tmp: Path) -> None:
    catalog = cloud.json(who, "catalog", "list")
    assert SERVICE_TYPES <= {entry["Type"] for entry in catalog}
    checked = 0
    for entry in catalog:
        for endpoint in entry["Endpoints"]:
            if endpoint["interface"] == "public":
                # the public URLs name the Ingress hosts (*.<public_domain>); the run has no Ingress
                # controller, so they are listed but not called (docs/e2e.md)
                continue
            answer = cloud.http(endpoint["url"])
            assert answer.status < 500, f"{entry['Name']} {endpoint['interface']} {endpoint['url']}: HTTP {answer.status}"
            checked += 1
    assert checked >= 2 * len(SERVICE_TYPES)


def image_round_trip(cloud: Cloud, who: Creds, tmp: Path) -> None:
    data = secrets.token_bytes(1 << 20)
    upload, download = tmp / "upload.raw", tmp / "download.raw"
    upload.write_bytes(data)
    image = cloud.json(who, "image", "create", "--disk-format", "raw", "--container-format", "bare",
                       "--file", str(upload), name("image"))
    try:
        assert image["status"] == "active"
        assert image["checksum"] == hashlib.md5(data).hexdigest()
        cloud.openstack(who, "image", "save", "--file", str(download), image["id"])
        assert hashlib.sha256(download.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    finally:
        cloud.openstack(who, "image", "delete", image["id"], check=False)


def _refused(cloud: Cloud, who: Creds, *args: str) -> None:
    """A call the member must be refused by the service's policy (HTTP 403), not fail otherwise."""
    done = cloud.openstack(who, *args, check=False)
    assert done.returncode != 0 and re.search(r"\b403\b|Forbidden|not allowed|disallowed", done.stderr), (
        f"openstack {' '.join(args)} as {who.username} (member) was not refused by policy:\n{done.stdout}{done.stderr}")


def _until(what: str, timeout: float, probe: Callable[[], str | None]) -> None:
    """Poll `probe` (None: done, else why not yet) every 5 s for `timeout` s."""
    deadline = time.monotonic() + timeout
    while (why := probe()) is not None:
        assert time.monotonic() < deadline, f"{what} not after {timeout:.0f}s: {why}"
        time.sleep(5)


def placement_resource_providers(cloud: Cloud, who: Creds, tmp: Path) -> None:
    """The admin sees the fake compute's resource provider with its inventory; a member is refused."""
    if who.username != "admin":
        _refused(cloud, who, "resource", "provider", "list")
        return
    providers = cloud.json(who, "resource", "provider", "list")
    assert providers, "placement lists no resource provider: no nova-compute registered its node"
    inventory = cloud.json(who, "resource", "provider", "inventory", "list", providers[0]["uuid"])
    assert {"VCPU", "MEMORY_MB", "DISK_GB"} <= {row["resource_class"] for row in inventory}, inventory


def compute_services_up(cloud: Cloud, who: Creds, tmp: Path) -> None:
    """conductor, scheduler and compute are enabled and up (the admin); a member is refused."""
    if who.username != "admin":
        _refused(cloud, who, "compute", "service", "list")
        return

    def probe() -> str | None:
        rows = cloud.json(who, "compute", "service", "list")
        up = {row["Binary"] for row in rows if row["State"] == "up" and row["Status"] == "enabled"}
        return None if NOVA_SERVICES <= up else f"services: {[(r['Binary'], r['Host'], r['State']) for r in rows]}"
    # the services report every report_interval (10 s): one may be between two reports
    _until("conductor, scheduler and compute up", 30, probe)


def network_subnet_port(cloud: Cloud, who: Creds, tmp: Path) -> None:
    """A network, a subnet and a port on it are created (the port gets an address) and deleted."""
    network = cloud.json(who, "network", "create", name("net"))
    try:
        subnet = cloud.json(who, "subnet", "create", "--network", network["id"], "--subnet-range",
                            "192.168.201.0/24", name("subnet"))
        port = cloud.json(who, "port", "create", "--network", network["id"], name("port"))
        assert port["fixed_ips"] and port["fixed_ips"][0]["subnet_id"] == subnet["id"], port["fixed_ips"]
        assert port["fixed_ips"][0]["ip_address"].startswith("192.168.201."), port["fixed_ips"]
        cloud.openstack(who, "port", "delete", port["id"])
        cloud.openstack(who, "subnet", "delete", subnet["id"])
    finally:
        cloud.openstack(who, "network", "delete", network["id"], check=False)
    listed = cloud.openstack(who, "network", "list", "-f", "value", "-c", "ID").stdout
    assert network["id"] not in listed, "the network was not deleted"


def _flavor(cloud: Cloud) -> None:
    """The smallest public flavor the smoke servers use (the admin makes it once)."""
    if cloud.openstack(cloud.admin(), "flavor", "show", FLAVOR, check=False).returncode != 0:
        cloud.openstack(cloud.admin(), "flavor", "create", "--public", "--ram", "64", "--disk", "1",
                        "--vcpus", "1", FLAVOR)


def server_boots(cloud: Cloud, who: Creds, tmp: Path) -> None:
    """A server boots to ACTIVE on the fake driver, from an image of the user's, without a NIC
    (no Neutron agent binds ports in the run: docs/e2e.md), and is deleted."""
    _flavor(cloud)
    disk = tmp / "server.raw"
    disk.write_bytes(secrets.token_bytes(1 << 16))
    image = cloud.json(who, "image", "create", "--disk-format", "raw", "--container-format", "bare",
                       "--file", str(disk), name("server-image"))
    try:
        server = cloud.json(who, "server", "create", "--flavor", FLAVOR, "--image", image["id"],
                            "--nic", "none", "--wait", name("server"))
        try:
            assert server["status"] == "ACTIVE", server
            assert server["OS-EXT-STS:power_state"] in ("Running", 1), server
        finally:
            cloud.openstack(who, "server", "delete", "--wait", server["id"], check=False)
    finally:
        cloud.openstack(who, "image", "delete", image["id"], check=False)


def horizon_login_page(cloud: Cloud, who: Creds, tmp: Path) -> None:
    answer = cloud.http("http://horizon/auth/login/")
    assert answer.status == 200
    assert b'name="password"' in answer.body


def horizon_login(cloud: Cloud, who: Creds, tmp: Path) -> None:
    page = cloud.http("http://horizon/auth/login/")
    cookie = _cookies(page.headers.get("set-cookie", ""))
    form = _Inputs()
    form.feed(page.body.decode())
    assert "csrfmiddlewaretoken" in form.values, "no CSRF token on the login page"
    fields = {**form.values, "username": who.username, "password": who.password}  # hidden ones as served
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in fields.items()).encode()
    answer = cloud.http("http://horizon/auth/login/", "POST", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Referer": "http://horizon/auth/login/"})
    assert answer.status == 302, answer.body[-800:]
    assert "/auth/login" not in answer.headers.get("location", ""), answer.headers
    assert "sessionid=" in answer.headers.get("set-cookie", "")


class _Inputs(HTMLParser):
    """The name -> value of every <input> of a page (the login form's hidden fields included)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.values[str(found["name"])] = found.get("value") or ""


def _cookies(header: str) -> str:
    return "; ".join(part.split(";")[0].strip() for part in re.split(r",(?=\s*\w+=)", header) if "=" in part)


# Every check, by the name its test carries; each runs as the admin and as the fresh member.
CHECKS: dict[str, Check] = {
    "token_issue": token_issue,
    "catalog_endpoints_answer": catalog_endpoints_answer,
    "image_round_trip": image_round_trip,
    "placement_resource_providers": placement_resource_providers,
    "compute_services_up": compute_services_up,
    "network_subnet_port": network_subnet_port,
    "server_boots": server_boots,
    "horizon_login_page": horizon_login_page,
    "horizon_login": horizon_login,
}


def run_smoke_checks(cloud: Cloud, personas: list[Creds], tmp: Path) -> dict[str, str]:
    """Every check as every persona; the failures as `check[user]` -> message (empty: all passed)."""
    failures: dict[str, str] = {}
    for creds in personas:
        for check_name, check in CHECKS.items():
            try:
                check(cloud, creds, tmp)
            except AssertionError as exc:
                failures[f"{check_name}[{creds.username}]"] = str(exc)[-2000:]
    return failures
