"""Run the compiled mariadb StatefulSet's pods as processes: real mariadbd + galera-4 per loopback address."""

from __future__ import annotations

import http.client
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

# The parts of the official mariadb image that are not the catalogue's: a my.cnf that reads the
# mounted conf.d last (mariadb-docker's Dockerfile reorders the includes the same way).
IMAGE_MY_CNF = "[client-server]\nsocket = /run/mysqld/mysqld.sock\n\n!includedir /etc/mysql/conf.d/\n"
PASSWORD = "galera-test-Pa55"


@dataclass(frozen=True)
class Rendered:
    """What one real compile wrote for the mariadb StatefulSet: its ConfigMap files and its pod template."""

    files: dict[str, str]
    container: dict[str, Any]
    volumes: dict[str, dict[str, Any]]
    replicas: int
    proxy: dict[str, Any]

    def container_port(self, name: str) -> int:
        [port] = [p["containerPort"] for p in self.container["ports"] if p["name"] == name]
        return int(port)


def compile_rendered(repo: Path, env: str) -> Rendered:
    """`ccp-gitops compile env/<env>` into a fresh env repo; read back what git holds."""
    run = subprocess.run(
        [sys.executable, "-m", "ccp_gitops", "compile", f"env/{env}", "--repo", str(repo)],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
    )
    assert run.returncode == 0, run.stderr

    def committed(path: str) -> Any:
        text = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:env/{env}/mariadb/{path}"],
                              capture_output=True, text=True, check=True).stdout
        return yaml.safe_load(text)

    configmap = committed("configmap-mariadb-etc.yaml")
    sts = committed("statefulset-mariadb.yaml")
    pod = sts["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "mariadb"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for claim in sts["spec"].get("volumeClaimTemplates") or []:
        volumes[claim["metadata"]["name"]] = {"name": claim["metadata"]["name"], "persistentVolumeClaim": {}}
    return Rendered(dict(configmap["data"]), container, volumes, int(sts["spec"]["replicas"]),
                    committed("deployment-mariadb-proxy.yaml"))


@dataclass
class Node:
    """One pod: its own data volume, /run/mysqld, /etc/mysql and /etc/hosts in a private mount namespace."""

    ordinal: int
    ip: str
    root: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        return f"mariadb-{self.ordinal}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / f"start-{self.starts}.log"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """The StatefulSet's pods as process groups; `stop_all` kills every one of them."""

    rendered: Rendered
    base: Path
    ips: list[str]
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        mysql = pwd.getpwnam("mysql")
        hosts = "127.0.0.1 localhost\n" + "".join(
            f"{ip} mariadb-{i}.mariadb-discovery mariadb-{i}\n" for i, ip in enumerate(self.ips))
        for i, ip in enumerate(self.ips):
            node = Node(i, ip, self.base / f"mariadb-{i}")
            etc = node.root / "etc"
            (etc / "conf.d").mkdir(parents=True)
            (etc / "my.cnf").write_text(IMAGE_MY_CNF)
            self._lay_out_config(etc)
            (node.root / "hosts").write_text(hosts)
            node.data.mkdir()
            os.chown(node.data, mysql.pw_uid, mysql.pw_gid)
            self.nodes.append(node)

    def _lay_out_config(self, etc: Path) -> None:
        """Put every ConfigMap file where the StatefulSet mounts it (all under /etc/mysql)."""
        for mount in self.rendered.container["volumeMounts"]:
            source = self.rendered.volumes[mount["name"]].get("configMap")
            if source is None:
                continue
            assert mount["mountPath"].startswith("/etc/mysql/"), mount
            target = etc / mount["mountPath"].removeprefix("/etc/mysql/")
            items = [i for i in source["items"] if "subPath" not in mount or i["path"] == mount["subPath"]]
            for item in items:
                path = target if "subPath" in mount else target / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(self.rendered.files[item["key"]])

    def start(self, *ordinals: int) -> None:
        for i in ordinals:
            self._start(self.nodes[i])

    def _start(self, node: Node) -> None:
        assert node.proc is None or node.proc.poll() is not None, f"{node.name} still runs"
        node.starts += 1
        run = node.root / "run"  # a new container: an empty /run/mysqld
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        mysql = pwd.getpwnam("mysql")
        os.chown(run, mysql.pw_uid, mysql.pw_gid)
        binds = [(node.root / "etc", "/etc/mysql"), (run, "/run/mysqld"), (node.root / "hosts", "/etc/hosts")]
        for mount in self.rendered.container["volumeMounts"]:
            if "persistentVolumeClaim" in self.rendered.volumes[mount["name"]]:
                binds.append((node.data, mount["mountPath"]))
        script = "set -e\n" + "".join(f"mount --bind {shlex.quote(str(s))} {shlex.quote(t)}\n" for s, t in binds)
        script += "exec " + shlex.join(self.rendered.container["command"]) + "\n"
        Path("/run/mysqld").mkdir(exist_ok=True)  # the mount point, as in the image
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": node.name,
               "POD_IP": node.ip, "MARIADB_ROOT_PASSWORD": PASSWORD}
        with node.log.open("wb") as log:
            node.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )

    def kill(self, *ordinals: int, sig: int = signal.SIGKILL) -> None:
        """Signal each node's whole process group (mariadbd, socat, SST helpers) and reap it."""
        for i in ordinals:  # the group outlives its leader when start.sh exits and leaves socat behind
            proc = self.nodes[i].proc
            if proc is not None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
        for i in ordinals:
            proc = self.nodes[i].proc
            if proc is not None:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        for i in ordinals:  # stragglers that left the group (none expected)
            self._kill_strays(self.nodes[i])

    def _kill_strays(self, node: Node) -> None:
        found = subprocess.run(["pgrep", "-f", f"--wsrep-node-address={node.ip} "], capture_output=True, text=True)
        for pid in found.stdout.split():
            os.kill(int(pid), signal.SIGKILL)

    def stop_all(self) -> None:
        self.kill(*range(len(self.nodes)))

    def probe(self, i: int, script: str) -> bool:
        """Run one of the rendered probe scripts inside the node's mount namespace, as the kubelet would."""
        proc = self.nodes[i].proc
        if proc is None or proc.poll() is not None:
            return False
        env = {"PATH": os.environ["PATH"], "MARIADB_ROOT_PASSWORD": PASSWORD}
        run = subprocess.run(["nsenter", "--mount", "--target", str(proc.pid), "/bin/sh", f"/etc/mysql/ccp/{script}"],
                             capture_output=True, env=env, timeout=30)
        return run.returncode == 0

    def state(self, i: int) -> tuple[int, dict[str, str]]:
        """GET the node's state endpoint, as a peer's start.sh or HAProxy's check does: status and key=value body."""
        port = int(self.rendered.container_port("state"))
        conn = http.client.HTTPConnection(self.ips[i], port, timeout=10)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            body = response.read().decode()
        finally:
            conn.close()
        return response.status, dict(line.split("=", 1) for line in body.splitlines() if "=" in line)

    def sql(self, i: int, query: str) -> str:
        run = subprocess.run(["mariadb", "-h", self.ips[i], "-uroot", "-N", "-s", "--connect-timeout=5", "-e", query],
                             capture_output=True, text=True, env={**os.environ, "MYSQL_PWD": PASSWORD}, timeout=30)
        assert run.returncode == 0, f"{self.nodes[i].name}: {query}: {run.stderr}\n{self.nodes[i].log_text()[-3000:]}"
        return run.stdout.strip()

    def wait(self, what: str, check: Callable[[], bool], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {n.name} (start {n.starts}, exit {n.proc.poll() if n.proc else None})\n"
                                 f"{n.log_text()[-6000:]}" for n in self.nodes)
                (self.base / "timeout.log").write_text(logs)
                raise AssertionError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.5)

    def wait_ready(self, *ordinals: int, timeout: float = 90) -> None:
        self.wait(f"readiness of {ordinals}", lambda: all(self.probe(i, "readiness.sh") for i in ordinals), timeout)
