"""The run's network: a private network namespace, pod and Service addresses, /etc/hosts, kube-proxy.

The whole run (the runner, its pods and the smoke checks) lives in a network namespace of its own,
so nothing binds on the machine's network and concurrent runs cannot collide. Pods get 127.0.x.y
addresses; ClusterIP Services get 127.1.x.y and iptables DNAT rules to their ready endpoints.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.objects import RunError

CLONE_NEWNET = 0x40000000
CLUSTER_DOMAIN = "cluster.local"


@contextmanager
def private_network() -> Iterator[None]:
    """Move the calling thread (and what it starts) into a new network namespace; move back after."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            raise RunError(f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())} (root needed)")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        yield
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(home)


class Addresses:
    """Allocates pod addresses (127.0.x.y) and ClusterIPs (127.1.x.y), one per name for the run."""

    def __init__(self) -> None:
        self._pods: dict[str, str] = {}
        self._services: dict[str, str] = {}

    @staticmethod
    def _nth(prefix: str, n: int) -> str:
        return f"{prefix}.{1 + n // 250}.{1 + n % 250}"

    def pod(self, name: str) -> str:
        if name not in self._pods:
            self._pods[name] = self._nth("127.0", len(self._pods))
        return self._pods[name]

    def service(self, name: str) -> str:
        if name not in self._services:
            self._services[name] = self._nth("127.1", len(self._services))
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
    nat = ["*nat", ":OUTPUT ACCEPT [0:0]"]
    flt = ["*filter", ":OUTPUT ACCEPT [0:0]"]
    for cip, port, proto, endpoints in rules:
        match = f"-d {cip}/32 -p {proto.lower()} --dport {port}"
        if not endpoints:
            reject = " --reject-with tcp-reset" if proto.upper() == "TCP" else ""
            flt.append(f"-A OUTPUT {match} -j REJECT{reject}")
            continue
        for i, (ip, target) in enumerate(endpoints):
            left = len(endpoints) - i
            pick = f" -m statistic --mode random --probability {1 / left:.5f}" if left > 1 else ""
            nat.append(f"-A OUTPUT {match}{pick} -j DNAT --to-destination {ip}:{target}")
    return "\n".join(nat + ["COMMIT"] + flt + ["COMMIT", ""])


def apply_rules(rules: list[Rule]) -> None:
    """Replace the run namespace's Service rules (atomic, as iptables-restore is)."""
    done = subprocess.run(["iptables-restore"], input=proxy_rules(rules).encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise RunError(f"iptables-restore failed: {done.stderr.decode().strip()}")
