"""Galera start-up on real mariadbd + galera-4: the compiled start script elects, recovers and rejoins."""

from __future__ import annotations

import http.client
import os
import random
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .galera_front import Front, StandInDNS
from .galera_nodes import PASSWORD, Cluster, Rendered, compile_rendered


# Addresses no other test uses; every port a node opens is bound to its own address.
def free_block() -> str:
    """A 127.0.X.0/24 block where nothing listens: concurrent runs of this suite on one machine share
    the loopback network, and every node binds fixed ports (3306, 4567, 4569) on its own address."""
    for _ in range(50):
        block = f"127.0.{random.randint(100, 250)}"
        try:
            for host in (11, 12, 13, 21, 53, 100):
                with socket.socket() as probe:
                    probe.bind((f"{block}.{host}", 4569))
            return block
        except OSError:
            continue
    raise AssertionError("no free loopback block")


PROD = free_block()
PROD_IPS = [f"{PROD}.11", f"{PROD}.12", f"{PROD}.13"]
DEV_IPS = [f"{PROD}.21"]


def bootstrapped(cluster: Cluster, i: int) -> bool:
    return "exec mariadbd (bootstrap)" in cluster.nodes[i].log_text()


def joined(cluster: Cluster, i: int) -> bool:
    return "exec mariadbd (join)" in cluster.nodes[i].log_text()


def grastate(cluster: Cluster, i: int) -> dict[str, str]:
    text = (cluster.nodes[i].data / "grastate.dat").read_text()
    return dict(re.findall(r"^(\w+):\s*(\S+)", text, re.M))


def rows(cluster: Cluster, i: int) -> int:
    return int(cluster.sql(i, "SELECT COUNT(*) FROM probe.t"))


def insert(cluster: Cluster, i: int, n: int) -> None:
    cluster.sql(i, "INSERT INTO probe.t (node) VALUES " + ",".join([f"('{cluster.nodes[i].name}')"] * n))


FRONT_IP, DNS_IP = f"{PROD}.100", f"{PROD}.53"


def start_front(cluster: Cluster) -> tuple[Front, StandInDNS]:
    """The compiled mariadb-proxy with a stand-in DNS that maps the servers' names to the nodes' addresses."""
    config = cluster.rendered.files["haproxy.cfg"]
    servers = re.findall(r"^\s*server mariadb-(\d+) ([^:\s]+):", config, re.M)
    names = {host: cluster.ips[int(i)] for i, host in servers}
    assert len(names) == len(cluster.ips)
    dns = StandInDNS(DNS_IP, names)
    front = Front(cluster.rendered.proxy, config, cluster.base / "front", FRONT_IP, names)
    front.root.mkdir()
    front.start(DNS_IP)
    return front, dns


def front_ready(front: Front) -> bool:
    """The Deployment's readinessProbe: /healthz answers 200 once a Galera node passes its check."""
    [container] = front.deployment["spec"]["template"]["spec"]["containers"]
    probe = container["readinessProbe"]["httpGet"]
    [port] = [p["containerPort"] for p in container["ports"] if p["name"] == probe["port"]]
    try:
        conn = http.client.HTTPConnection(front.ip, port, timeout=5)
        conn.request("GET", probe["path"])
        return conn.getresponse().status == 200
    except OSError:
        return False


def via_front(front: Front, query: str) -> subprocess.CompletedProcess[str]:
    """One statement on a new connection through the front, as a service's connection pool opens one."""
    return subprocess.run(["mariadb", "-h", front.ip, "-uroot", "-N", "-s", "--connect-timeout=3", "-e", query],
                          capture_output=True, text=True, env={**os.environ, "MYSQL_PWD": PASSWORD}, timeout=30)


def writer_via(front: Front) -> str:
    """The node that a new connection through the front lands on ("" when none answers)."""
    run = via_front(front, "SELECT @@wsrep_node_name")
    return run.stdout.strip() if run.returncode == 0 else ""


@pytest.fixture(scope="module")
def prod_rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    rendered = compile_rendered(tmp_path_factory.mktemp("galera-prod-repo") / "env-repo", "prod")
    assert rendered.replicas == 3
    return rendered


@pytest.fixture(scope="module")
def prod(prod_rendered: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(prod_rendered, tmp_path_factory.mktemp("galera-prod"), PROD_IPS)
    try:
        yield cluster
    finally:
        cluster.stop_all()


def test_galera_three_nodes_recover_by_themselves(prod: Cluster) -> None:
    """Cold start, a node killed and rejoining, quorum lost then a full outage, pod-0's volume lost: no human."""
    c = prod
    t0 = time.monotonic()
    # Cold start, every pod at once (podManagementPolicy: Parallel): pod-0 bootstraps, the others join by SST.
    c.start(0, 1, 2)
    c.wait_ready(0, 1, 2)
    assert [bootstrapped(c, i) for i in range(3)] == [True, False, False]
    assert all(joined(c, i) for i in (1, 2))
    assert c.sql(2, "SHOW STATUS LIKE 'wsrep_cluster_size'").split()[-1] == "3"
    c.sql(0, "CREATE DATABASE probe; CREATE TABLE probe.t (id INT AUTO_INCREMENT PRIMARY KEY, node VARCHAR(20))")
    insert(c, 0, 5)
    assert rows(c, 2) == 5
    cold = time.monotonic() - t0

    # One node killed (a crash: no clean shutdown) while the others keep the primary component: it rejoins.
    c.kill(2)
    insert(c, 0, 5)
    c.start(2)
    c.wait_ready(2)
    assert joined(c, 2) and not bootstrapped(c, 2)
    assert rows(c, 2) == 10

    rejoin = time.monotonic() - t0 - cold
    # One writer: the rendered HAProxy front sends every connection to pod-0 while its check passes.
    front, dns = start_front(c)
    try:
        c.wait("the front to be ready", lambda: front_ready(front), 30)
        assert {writer_via(front) for _ in range(5)} == {"mariadb-0"}
        # The cluster DNS goes away for the rest of the front's run: it must keep the addresses it
        # has (HAProxy's default turns a server off after 30 s without a valid DNS answer).
        dns.close()
        dns_gone = time.monotonic()

        # Quorum loss, then a full outage. Pod-0 crashes first: the front moves the writer to the
        # first backup, pod-1, which takes the writes pod-0 misses. Then pod-2 crashes: pod-1 is half
        # of the last primary component, non-Primary. It takes no client, the front is not ready,
        # and liveness fails, so the kubelet restarts it (SIGTERM: a clean shutdown).
        c.kill(0)
        c.wait("the front to fail over to pod-1", lambda: writer_via(front) == "mariadb-1", 30)
        assert {writer_via(front) for _ in range(5)} == {"mariadb-1"}
        written = via_front(front, "INSERT INTO probe.t (node) VALUES " + ",".join(["('front')"] * 5))
        assert written.returncode == 0, written.stderr
        c.kill(2)
        c.wait("pod-1 to fail liveness without quorum", lambda: not c.probe(1, "liveness.sh"), 30)
        assert not c.probe(1, "readiness.sh") and c.state(1)[0] == 503
        assert c.state(1)[1]["wsrep_cluster_status"] == "non-Primary"
        c.wait("the front to report no writable node", lambda: not front_ready(front), 30)
        c.kill(1, sig=signal.SIGTERM)
        # No node may bootstrap on its own word: all say safe_to_bootstrap 0; the crashed ones do
        # not know their seqno.
        assert [grastate(c, i)["safe_to_bootstrap"] for i in range(3)] == ["0"] * 3
        assert [grastate(c, i)["seqno"] == "-1" for i in range(3)] == [True, False, True]

        # Pod-0 alone must wait; once all are back, the most advanced node (pod-1: highest seqno,
        # lower ordinal than pod-2, which recovers the same) bootstraps and the others join.
        c.start(0)
        c.wait("pod-0 to recover its position and wait", lambda: "waiting:" in c.nodes[0].log_text(), 60)
        time.sleep(3)
        assert not bootstrapped(c, 0) and not joined(c, 0)
        # What its peers (and HAProxy) read meanwhile: the recovered position, not healthy (503).
        status, state = c.state(0)
        assert status == 503 and state["phase"] == "waiting" and state["data"] == "1"
        assert int(state["seqno"]) > 0 and state["safe_to_bootstrap"] == "0"
        assert c.probe(0, "liveness.sh") and not c.probe(0, "readiness.sh")  # waiting for peers is alive
        c.start(1, 2)
        c.wait_ready(0, 1, 2)
        assert [bootstrapped(c, i) for i in range(3)] == [False, True, False]
        assert all("--wsrep-recover" in c.nodes[i].log_text() for i in (0, 2))
        assert int(c.state(1)[1]["seqno"]) > int(state["seqno"])  # pod-1 led: the higher recovered seqno
        assert [c.state(i)[0] for i in range(3)] == [200, 200, 200]
        assert all(c.probe(i, "liveness.sh") for i in range(3))
        assert [rows(c, i) for i in range(3)] == [15, 15, 15]
        # Pod-0 Synced again: the writer moves back to it, DNS down for longer than HAProxy's default hold.
        time.sleep(max(0.0, dns_gone + 35 - time.monotonic()))
        c.wait("the front to come back to pod-0", lambda: writer_via(front) == "mariadb-0", 30)
    finally:
        front.stop()
        dns.close()

    outage = time.monotonic() - t0 - cold - rejoin
    # Pod-0 loses its volume while the others hold the data, and everything restarts: pod-0 must
    # not bootstrap an empty cluster but join the data holders by SST.
    c.kill(0, 1, 2)
    for child in c.nodes[0].data.iterdir():
        if child.is_dir():
            for path in sorted(child.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            child.rmdir()
        else:
            child.unlink()
    c.start(0, 1, 2)
    # A joiner receiving a snapshot answers no SQL; liveness must let it finish (the old TCP probe did not).
    sst_marker = c.nodes[0].data / "sst_in_progress"
    c.wait("pod-0's state transfer", sst_marker.exists, 90)
    assert c.probe(0, "liveness.sh") and not c.probe(0, "readiness.sh")
    c.wait_ready(0, 1, 2)
    assert not bootstrapped(c, 0) and joined(c, 0)
    assert "initialising" not in c.nodes[0].log_text()
    assert [rows(c, i) for i in range(3)] == [15, 15, 15]
    insert(c, 0, 1)
    assert rows(c, 2) == 16
    wiped = time.monotonic() - t0 - cold - rejoin - outage
    print(f"galera: cold start {cold:.0f}s, rejoin {rejoin:.0f}s, front + full outage {outage:.0f}s, "
          f"lost volume {wiped:.0f}s")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("galera-dev")
    rendered = compile_rendered(base / "env-repo", "dev")
    assert rendered.replicas == 1
    cluster = Cluster(rendered, base, DEV_IPS)
    try:
        yield cluster
    finally:
        cluster.stop_all()


def test_galera_single_replica_bootstraps_at_once_and_after_a_crash(dev: Cluster) -> None:
    """Dev's one node is its own quorum: no election, no waiting, and a crash does not need a human."""
    dev.start(0)
    dev.wait_ready(0, timeout=60)
    assert bootstrapped(dev, 0) and "single replica" in dev.nodes[0].log_text()
    assert dev.state(0)[0] == 200
    dev.sql(0, "CREATE DATABASE probe; CREATE TABLE probe.t (id INT AUTO_INCREMENT PRIMARY KEY, node VARCHAR(20))")
    insert(dev, 0, 3)
    dev.kill(0)
    assert grastate(dev, 0)["seqno"] == "-1"  # a crash: the position is recovered on the way up
    dev.start(0)
    dev.wait_ready(0, timeout=60)
    assert bootstrapped(dev, 0) and rows(dev, 0) == 3


def test_haproxy_accepts_the_rendered_front(prod_rendered: Rendered, tmp_path: Path) -> None:
    """The real haproxy parses the rendered configuration (servers resolve at run time, so none here)."""
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(prod_rendered.files["haproxy.cfg"])
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "Configuration file is valid" in check.stdout + check.stderr
