"""Run the compiled HAProxy front (mariadb-proxy) as a process, with a stand-in for the cluster DNS."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

A, AAAA, IN = 1, 28, 1


def dns_answer(query: bytes, names: dict[str, str]) -> bytes:
    """The reply to one DNS query: an A record for a known name, no record for AAAA, NXDOMAIN otherwise."""
    qid, _flags, qdcount = struct.unpack("!HHH", query[:6])
    pos, labels = 12, []
    while query[pos]:
        labels.append(query[pos + 1:pos + 1 + query[pos]].decode().lower())
        pos += 1 + query[pos]
    qtype, _qclass = struct.unpack("!HH", query[pos + 1:pos + 5])
    question = query[12:pos + 5]
    name = ".".join(labels).rstrip(".")
    if name not in names:
        return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
    answers = b""
    if qtype == A:
        answers = struct.pack("!HHHIH", 0xC00C, A, IN, 5, 4) + socket.inet_aton(names[name])
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1 if answers else 0, 0, 0) + question + answers


@dataclass
class StandInDNS:
    """A UDP name server for a fixed set of names: what CoreDNS answers for the headless Service."""

    ip: str
    names: dict[str, str]
    sock: socket.socket = field(init=False)
    thread: threading.Thread = field(init=False)
    stopping: threading.Event = field(init=False, default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.ip, 53))
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            try:
                self.sock.sendto(dns_answer(query, self.names), peer)
            except (IndexError, struct.error, OSError):
                continue  # a malformed query gets no answer, as from a real server

    def close(self) -> None:
        """Stop answering (queries then go unanswered or are refused, as when the DNS is down)."""
        self.stopping.set()
        self.thread.join()
        self.sock.close()


@dataclass
class Front:
    """The mariadb-proxy Deployment's container in a private mount namespace."""

    deployment: dict[str, Any]
    config: str
    root: Path
    ip: str
    names: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self, dns_ip: str) -> None:
        [container] = self.deployment["spec"]["template"]["spec"]["containers"]
        [mount] = container["volumeMounts"]
        etc = self.root / "usr-local-etc"
        target = etc / mount["mountPath"].removeprefix("/usr/local/etc/")
        target.parent.mkdir(parents=True)
        # A pod has its own network namespace, where `bind :port` takes only the pod's address; the
        # test's processes share one, so the front binds its own loopback address instead.
        target.write_text(self.config.replace("bind :", f"bind {self.ip}:"))
        (self.root / "hosts").write_text("127.0.0.1 localhost\n" + "".join(f"{ip} {n}\n" for n, ip in self.names.items()))
        (self.root / "resolv.conf").write_text(f"nameserver {dns_ip}\n")
        binds = [(etc, "/usr/local/etc"), (self.root / "hosts", "/etc/hosts"), (self.root / "resolv.conf", "/etc/resolv.conf")]
        script = "set -e\n" + "".join(f"mount --bind {shlex.quote(str(s))} {shlex.quote(t)}\n" for s, t in binds)
        script += "exec " + shlex.join(container["command"]) + "\n"
        with (self.root / "haproxy.log").open("wb") as log:
            self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        path = self.root / "haproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
