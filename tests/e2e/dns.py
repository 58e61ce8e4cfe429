"""The cluster DNS of the run: A records of Services and pods on the node's address, port 53.

Programs with a resolver of their own (HAProxy's `resolvers`, set up from /etc/resolv.conf) ask a
DNS server rather than /etc/hosts; in a cluster that is CoreDNS. This one answers the same names
from the same data as the pods' /etc/hosts: NXDOMAIN for any other name, no answer for other types.
"""

from __future__ import annotations

import socket
import threading

from dnslib import QTYPE, RCODE, RR, A, DNSRecord  # type: ignore[import-untyped]

from tests.e2e.network import NODE_IP

TTL = 5


class ClusterDNS:
    """A UDP DNS server in the node's network namespace, serving a name -> addresses table."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((NODE_IP, 53))
        self._thread = threading.Thread(target=self._serve, name="cluster-dns", daemon=True)
        self._thread.start()

    def resolv_conf(self, namespace: str) -> str:
        """A pod's /etc/resolv.conf with dnsPolicy ClusterFirst, as the kubelet writes it."""
        return (f"nameserver {NODE_IP}\nsearch {namespace}.svc.cluster.local svc.cluster.local cluster.local\n"
                "options ndots:5\n")

    def answer(self, packet: bytes) -> bytes:
        """The reply to one query."""
        query = DNSRecord.parse(packet)
        reply = query.reply()
        table = self.records
        for question in query.questions:
            name = str(question.qname).rstrip(".").lower()
            if name not in table:
                reply.header.rcode = RCODE.NXDOMAIN
            elif question.qtype in (QTYPE.A, QTYPE.ANY):
                for ip in table[name]:
                    reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
        data: bytes = reply.pack()
        return data

    def _serve(self) -> None:
        while True:
            try:
                packet, peer = self._sock.recvfrom(4096)
            except OSError:
                return
            try:
                self._sock.sendto(self.answer(packet), peer)
            except Exception:  # noqa: BLE001 - a malformed query gets no answer, as from any server
                continue

    def close(self) -> None:
        self._sock.close()
