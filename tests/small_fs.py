"""A size-limited filesystem for tests: a tmpfs mounted in a private mount namespace (`unshare -m`).

The mount exists only inside the namespace of one `sleep` process; commands reach it through
`nsenter`, and killing that process releases it: nothing is mounted on the host.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SmallFs:
    """A tmpfs of ``size`` at ``path``, visible to commands run through ``run``."""

    path: Path
    holder: subprocess.Popen[bytes]

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside the mount namespace (it sees the tmpfs)."""
        full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
        return subprocess.run(
            ["nsenter", "-t", str(self.holder.pid), "-m", "--", *args], capture_output=True, text=True, cwd=cwd, env=full_env
        )

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "ccp_gitops", *args, env=env)

    def free_kib(self) -> int:
        return int(self.run("df", "-k", "--output=avail", str(self.path)).stdout.split()[-1])

    def fill(self, leave_kib: int) -> None:
        """Fill the filesystem with one file (``filler``), leaving ``leave_kib`` KiB free."""
        size = (self.free_kib() - leave_kib) * 1024
        assert size > 0
        proc = self.run("fallocate", "-l", str(size), str(self.path / "filler"))
        assert proc.returncode == 0, proc.stderr

    def unfill(self) -> None:
        assert self.run("rm", "-f", str(self.path / "filler")).returncode == 0

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


def mount_small_fs(path: Path, size: str = "32m") -> SmallFs:
    """Mount a tmpfs of ``size`` at ``path`` in a new private mount namespace."""
    path.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "--", "sh", "-c", f"mount -t tmpfs -o size={size} tmpfs '{path}' && exec sleep 3600"],
        stderr=subprocess.PIPE,
    )
    fs = SmallFs(path, holder)
    for _ in range(100):
        if holder.poll() is not None:
            raise RuntimeError(f"unshare failed: {holder.stderr.read().decode() if holder.stderr else ''}")
        if fs.run("findmnt", "-n", "-o", "FSTYPE", str(path)).stdout.strip() == "tmpfs":
            return fs
        time.sleep(0.05)
    fs.close()
    raise RuntimeError("tmpfs did not appear in the namespace")
