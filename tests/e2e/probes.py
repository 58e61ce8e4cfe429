"""Readiness probes as the kubelet runs them: httpGet, tcpSocket and exec (inside the container)."""

from __future__ import annotations

import http.client
import socket
import subprocess

from tests.e2e.objects import Obj, RunError


def port_number(port: object, container: Obj) -> int:
    """A probe/Service port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise RunError(f"container {container.get('name')}: no port named {port!r}")


def _http(ip: str, probe: Obj, container: Obj, timeout: float) -> tuple[bool, str]:
    get = probe["httpGet"]
    if str(get.get("scheme", "HTTP")).upper() != "HTTP":
        raise RunError(f"container {container.get('name')}: httpGet scheme {get.get('scheme')} not supported")
    conn = http.client.HTTPConnection(str(get.get("host") or ip), port_number(get["port"], container), timeout=timeout)
    try:
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
        conn.request("GET", str(get.get("path", "/")), headers=headers)
        status = conn.getresponse().status
        return 200 <= status < 400, f"HTTP {status}"
    except OSError as exc:
        return False, f"GET {get.get('path', '/')}: {exc}"
    finally:
        conn.close()


def _tcp(ip: str, probe: Obj, container: Obj, timeout: float) -> tuple[bool, str]:
    port = port_number(probe["tcpSocket"]["port"], container)
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True, "open"
    except OSError as exc:
        return False, f"tcp {ip}:{port}: {exc}"


def _exec(probe: Obj, pid: int, uid: int, gid: int, env: dict[str, str], timeout: float) -> tuple[bool, str]:
    """Like `kubectl exec`: the container's namespaces, root, user and environment."""
    argv = [str(a) for a in probe["exec"]["command"]]
    cmd = ["nsenter", "-t", str(pid), "-m", "-u", "-p", "-n", "-r", "-w", "-S", str(uid), "-G", str(gid),
           "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, f"exec {argv}: timed out after {timeout:.0f}s"
    return done.returncode == 0, (done.stdout + done.stderr).strip()[-300:] or f"exit {done.returncode}"


def run_probe(probe: Obj, ip: str, container: Obj, pid: int, user: tuple[int, int],
              env: dict[str, str]) -> tuple[bool, str]:
    """One probe attempt: success and a short reason."""
    timeout = float(probe.get("timeoutSeconds", 1))
    if "httpGet" in probe:
        return _http(ip, probe, container, timeout)
    if "tcpSocket" in probe:
        return _tcp(ip, probe, container, timeout)
    if "exec" in probe:
        return _exec(probe, pid, user[0], user[1], env, timeout)
    raise RunError(f"container {container.get('name')}: probe {sorted(probe)} not supported by the runner")
