"""The running cloud as the smoke checks use it: python-openstackclient and HTTP, by in-cluster names.

The CLI runs like a client pod (`Run.client_command`: the run's network and /etc/hosts), from the
e2e venv that stands in for the openstack-client image, with the environment the rendered
registration Jobs give it (auth URL, region, interface): it reaches the APIs exactly as they do.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
from dataclasses import dataclass
from http.client import HTTPConnection
from typing import Any

from tests.e2e.network import NodeNetwork
from tests.e2e.objects import Obj, RunError
from tests.e2e.profiles import CACHE
from tests.e2e.runner import Run

CLI_TIMEOUT = 180


@dataclass(frozen=True)
class Creds:
    """Who the CLI authenticates as (password auth, Default domain)."""

    username: str
    password: str
    project: str


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes


class Cloud:
    """A healthy run of an environment, seen from a client; its calls run in the run's node network
    (`node.inside()`), which a later phase also enters to drive the run further (`run.step()`)."""

    def __init__(self, run: Run, node: NodeNetwork) -> None:
        self.run = run
        self.node = node
        register = self._registration_container()
        # OS_AUTH_URL, OS_REGION_NAME, OS_INTERFACE, ... exactly as the rendered Jobs set them
        self.base_env = {str(e["name"]): str(e["value"]) for e in register.get("env") or []
                         if "value" in e and str(e["name"]).startswith("OS_")}
        venv = CACHE / f"e2e-{run.controllers.release}" / "venv"
        # the venv's scripts name /var/lib/openstack/bin/python (the image's path): call its python
        self.cli = [str(venv / "bin" / "python"), str(venv / "bin" / "openstack")]

    def _registration_container(self) -> Obj:
        for key, obj in sorted(self.run.cluster.objects.items()):
            if key.kind == "Job" and "ks-register" in key.name:
                containers: list[Obj] = obj["spec"]["template"]["spec"]["containers"]
                return containers[0]
        raise RunError("no rendered *-ks-register Job: no client environment to copy")

    def admin(self) -> Creds:
        return Creds("admin", self.run.secret("keystone-admin", "password"), "admin")

    def openstack(self, creds: Creds, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`openstack ARGS` as `creds`; check=True fails the test on a non-zero exit."""
        env = {**self.base_env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp",
               "OS_USERNAME": creds.username, "OS_PASSWORD": creds.password, "OS_PROJECT_NAME": creds.project,
               "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}
        with self.node.inside():
            done = subprocess.run(self.run.client_command([*self.cli, *args]), capture_output=True, text=True,
                                  env=env, timeout=CLI_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} (as {creds.username}) exited {done.returncode}:\n"
                                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done

    def json(self, creds: Creds, *args: str) -> Any:
        """`openstack ARGS -f json` as `creds`, parsed."""
        return json.loads(self.openstack(creds, *args, "-f", "json").stdout)

    def resolve(self, host: str) -> str:
        """A Service (or pod) name to its address, as the run's /etc/hosts says."""
        for line in self.run.cluster.client_hosts.read_text().splitlines():
            address, *names = line.split() or [""]
            if host in names:
                return address
        raise AssertionError(f"{host} does not resolve in the run (no such Service, or no ready pod)")

    def http(self, url: str, method: str = "GET", body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        """One HTTP request to an in-cluster URL, from the run's network (redirects not followed)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise AssertionError(f"{url}: only in-cluster http:// URLs are reachable in the run")
        conn = HTTPConnection(self.resolve(parts.hostname), parts.port or 80, timeout=30)
        with self.node.inside():
            return self._request(conn, method, parts, body, headers)

    @staticmethod
    def _request(conn: HTTPConnection, method: str, parts: urllib.parse.SplitResult,
                 body: bytes | None, headers: dict[str, str] | None) -> Answer:
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(method, path, body=body, headers={"Host": parts.netloc, **(headers or {})})
            resp = conn.getresponse()
            merged: dict[str, str] = {}
            for name, value in resp.getheaders():  # repeated headers (Set-Cookie) joined, as RFC 9110 reads them
                merged[name.lower()] = f"{merged[name.lower()]}, {value}" if name.lower() in merged else value
            return Answer(resp.status, merged, resp.read())
        finally:
            conn.close()
