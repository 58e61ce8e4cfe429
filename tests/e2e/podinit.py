"""Inside a container's new mount/pid/uts namespaces: build its root, mount its volumes, exec it.

Run by the runner as `unshare --pid --fork --mount --uts --propagation private python -I podinit.py
SPEC.json`; standalone on purpose (no imports from the project). The root is an overlay of this
machine's `/` whose writes land in the container's scratch directory; profile paths and volumes
are mounted on it; then chroot, hostname, user, and exec of the container's argv with its env.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"podinit: mount {' '.join(args)}: {done.stderr.strip()}")


def _mountpoint(target: Path, is_dir: bool) -> None:
    """Create a mount point inside the overlay root (the write lands in scratch)."""
    if target.is_symlink():
        target.unlink()
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
    elif not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()


def _overlay(lower: str, target: Path, scratch: Path) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "upper").mkdir(exist_ok=True)
    (scratch / "work").mkdir(exist_ok=True)
    _mountpoint(target, True)
    _mount("-t", "overlay", "overlay", "-o",
           f"lowerdir={lower},upperdir={scratch / 'upper'},workdir={scratch / 'work'}", str(target))


def _apply(mount: dict[str, Any], root: Path, scratch: Path, index: int) -> None:
    target = root / str(mount["target"]).lstrip("/")
    kind = mount["kind"]
    if kind == "overlay":
        _overlay(str(mount["source"]), target, scratch / f"ovl{index}")
        return
    if kind == "empty":
        source = scratch / f"empty{index}"
        source.mkdir(parents=True, exist_ok=True)
        os.chmod(source, int(mount.get("mode", 0o755)))
    else:
        source = Path(str(mount["source"]))
    _mountpoint(target, source.is_dir())
    _mount("--bind", str(source), str(target))
    if mount.get("readonly"):
        _mount("-o", "remount,bind,ro", str(target))


def build_root(spec: dict[str, Any]) -> Path:
    """The container's root: overlay of `/`, then /proc, /dev, /sys, and every mount in order."""
    scratch = Path(spec["scratch"])
    root = scratch / "root"
    _overlay("/", root, scratch / "rootfs")
    _mount("-t", "proc", "proc", str(root / "proc"))
    _mount("--rbind", "/dev", str(root / "dev"))
    _mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", str(root / "dev" / "shm"))
    _mount("--rbind", "/sys", str(root / "sys"))
    for index, mount in enumerate(spec["mounts"]):
        _apply(mount, root, scratch, index)
    return root


def main(spec_path: str) -> None:
    """Build the root, become the container's user, exec its argv."""
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text())
    root = build_root(spec)
    socket.sethostname(spec["hostname"])
    os.chroot(root)
    os.chdir(spec.get("workdir") or "/")
    os.setgroups([int(g) for g in spec["groups"]])
    os.setgid(int(spec["gid"]))
    os.setuid(int(spec["uid"]))
    env: dict[str, str] = spec["env"]
    argv: list[str] = spec["argv"]
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        print(f"podinit: cannot exec {argv[0]}: {exc}", file=sys.stderr)
        raise SystemExit(127) from exc


if __name__ == "__main__":
    main(sys.argv[1])
