"""The run's network: the node's network namespace, one per pod, Service addresses, /etc/hosts, kube-proxy.

The runner, the smoke checks and hostNetwork pods live in the "node": a network namespace of the
run's own, so nothing binds on the machine's network and concurrent runs cannot collide. Its bridge
cbr0 (10.88.0.1/16) links every pod's own network namespace (veth, 10.88.x.y), as a CNI bridge
plugin does; ClusterIP Services get 10.96.x.y and iptables DNAT rules to their ready endpoints in
the node, as kube-proxy's, with masquerading so that a pod may reach itself through its Service.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.objects import RunError

CLONE_NEWNET = 0x40000000
CLUSTER_DOMAIN = "cluster.local"
BRIDGE = "cbr0"
NODE_IP = "10.88.0.1"
POD_PREFIX, SERVICE_PREFIX = "10.88", "10.96"


def _sh(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RunError(f"{' '.join(argv)}: {done.stderr.strip()}")


class NodeNetwork:
    """The node's network namespace, kept open; `inside()` moves the calling thread in and back out.

    A run kept alive across tests (the session's cloud) enters it only while it is driven or
    called, so the other tests of the same process keep the machine's network.
    """

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        with self._moved_from_home():
            if self._libc.unshare(CLONE_NEWNET) != 0:
                raise RunError(f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())} (root needed)")
            self.fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            _sh("ip", "link", "set", "lo", "up")
            _sh("ip", "link", "add", BRIDGE, "type", "bridge")
            _sh("ip", "addr", "add", f"{NODE_IP}/16", "dev", BRIDGE)
            _sh("ip", "link", "set", BRIDGE, "up")
            # ClusterIPs are routed to the bridge so that kube-proxy's REJECT (no endpoint) is reached.
            _sh("ip", "route", "add", f"{SERVICE_PREFIX}.0.0/16", "dev", BRIDGE)
            _sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    @contextmanager
    def _moved_from_home(self) -> Iterator[None]:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            yield
        finally:
            self._libc.setns(home, CLONE_NEWNET)
            os.close(home)

    @contextmanager
    def inside(self) -> Iterator[None]:
        """The calling thread (and what it starts) in the node's namespace for the block."""
        with self._moved_from_home():
            if self._libc.setns(self.fd, CLONE_NEWNET) != 0:
                raise RunError(f"setns to the node's network failed: {os.strerror(ctypes.get_errno())}")
            yield

    def close(self) -> None:
        """The namespace goes once nothing (no pod holder, no thread) is left in it."""
        os.close(self.fd)


@contextmanager
def private_network() -> Iterator[NodeNetwork]:
    """Move the calling thread (and what it starts) into a new network namespace; move back after."""
    node = NodeNetwork()
    try:
        with node.inside():
            yield node
    finally:
        node.close()


class Sandbox:
    """A pod's network namespace, held by a `sleep` (Kubernetes' pause container), on the bridge."""

    def __init__(self, ip: str, name: str) -> None:
        self.ip = ip
        # --pdeathsig: should the runner die, the kernel ends the holder (and so the namespace).
        self.holder = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "unshare", "--net", "sleep", "infinity"],
                                       start_new_session=True,
                                       stdin=subprocess.DEVNULL)
        ours = os.readlink("/proc/thread-self/ns/net")
        deadline = time.monotonic() + 5
        while os.readlink(f"/proc/{self.holder.pid}/ns/net") == ours:
            if time.monotonic() > deadline:
                raise RunError(f"pod {name}: its network namespace did not appear")
            time.sleep(0.005)
        host_end = "v" + hashlib.sha256(name.encode()).hexdigest()[:12]
        _sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", str(self.holder.pid))
        _sh("ip", "link", "set", host_end, "master", BRIDGE, "up")
        inside = ["nsenter", "-t", str(self.holder.pid), "-n"]
        _sh(*inside, "ip", "link", "set", "lo", "up")
        _sh(*inside, "ip", "addr", "add", f"{ip}/16", "dev", "eth0")
        _sh(*inside, "ip", "link", "set", "eth0", "up")
        _sh(*inside, "ip", "route", "add", "default", "via", NODE_IP)

    def enter(self) -> list[str]:
        """The prefix that runs a command in this pod's network namespace."""
        return ["nsenter", "-t", str(self.holder.pid), "-n", "--"]

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


class Addresses:
    """Allocates pod addresses (10.88.x.y) and ClusterIPs (10.96.x.y), one per name for the run."""

    def __init__(self) -> None:
        self._pods: dict[str, str] = {}
        self._services: dict[str, str] = {}

    @staticmethod
    def _nth(prefix: str, n: int) -> str:
        return f"{prefix}.{1 + n // 250}.{1 + n % 250}"

    def pod(self, name: str) -> str:
        if name not in self._pods:
            self._pods[name] = self._nth(POD_PREFIX, len(self._pods))
        return self._pods[name]

    def service(self, name: str) -> str:
        if name not in self._services:
            self._services[name] = self._nth(SERVICE_PREFIX, len(self._services))
        return self._services[name]


def dns_names(name: str, namespace: str) -> list[str]:
    """The names cluster DNS answers for a Service (or a pod under a headless Service)."""
    return [name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"]


def write_in_place(path: Path, text: str) -> None:
    """Rewrite a file keeping its inode (it is bind-mounted into running containers)."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


# (clusterIP, port, protocol, [(pod ip, target port)])
Rule = tuple[str, int, str, list[tuple[str, int]]]


def proxy_rules(rules: list[Rule]) -> str:
    """iptables-restore input: DNAT to a ready endpoint (random among several), else reject."""
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
           "-A POSTROUTING -m conntrack --ctstate DNAT -j MASQUERADE"]
    flt = ["*filter", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    for cip, port, proto, endpoints in rules:
        match = f"-d {cip}/32 -p {proto.lower()} --dport {port}"
        if not endpoints:
            reject = " --reject-with tcp-reset" if proto.upper() == "TCP" else ""
            flt += [f"-A {chain} {match} -j REJECT{reject}" for chain in ("OUTPUT", "FORWARD")]
            continue
        for i, (ip, target) in enumerate(endpoints):
            left = len(endpoints) - i
            pick = f" -m statistic --mode random --probability {1 / left:.5f}" if left > 1 else ""
            nat += [f"-A {chain} {match}{pick} -j DNAT --to-destination {ip}:{target}"
                    for chain in ("PREROUTING", "OUTPUT")]
    return "\n".join(nat + ["COMMIT"] + flt + ["COMMIT", ""])


def apply_rules(rules: list[Rule]) -> None:
    """Replace the run namespace's Service rules (atomic, as iptables-restore is)."""
    done = subprocess.run(["iptables-restore"], input=proxy_rules(rules).encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise RunError(f"iptables-restore failed: {done.stderr.decode().strip()}")
