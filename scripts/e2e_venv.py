#!/usr/bin/env python3
"""Build the venv of OpenStack services that the end-to-end run (tests/e2e) starts as processes.

The e2e venv holds what the rendered pods run from the airshipit/openstack-helm
images: the services, Horizon, python-openstackclient (the registration Jobs'
``openstack`` CLI and the smoke checks), uWSGI, and the drivers the configs name
(PyMySQL for ``mysql+pymysql://``, pymemcache and python-memcached for the
Django and keystonemiddleware caches).

Versions follow ``scripts/option_catalogues.py`` (one source of truth): the
services it pins for the validator, plus the release's pins below, installed
from sdists with every other library resolved as PyPI had it the day after the
coordinated release (``--uploaded-prior-to``).  It is a venv of its own
(``~/.cache/ccp-gitops/e2e-<release>/venv``) rather than the validator's: that
venv's package list is written into ``schemas/openstack/<release>/manifest.json``
and must stay the services' own.  The sdists directory is shared with it.

Usage: ``python scripts/e2e_venv.py [--cache-dir DIR] [RELEASE]``; ``make e2e-deps`` runs it.
Idempotent: a marker file records what the venv holds; a second run returns at once.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from option_catalogues import DEFAULT_INDEX, RELEASES, Workspace, find_dist, log  # noqa: E402

# Per release: the newest point release of the series that shipped with it
# (upload dates checked on PyPI: horizon 25.7.0 2026-03-13 is 2026.1's series,
# 26.0.0 came in July; python-openstackclient 9.0.0 2026-02-17, 10.0.0 in May).
EXTRA_PINNED: dict[str, dict[str, str]] = {
    "2026.1": {"horizon": "25.7.3", "python-openstackclient": "9.0.1"},
    "2026.2": {"horizon": "27.0.0", "python-openstackclient": "10.5.0"},
}

# Resolved with the release's cutoff, like every library.
# osc-placement: the `openstack resource provider` commands (the openstack-client image has it).
EXTRA_LIBRARIES = ["uwsgi", "PyMySQL", "pymemcache", "python-memcached", "osc-placement"]


# Where the images keep their venv (openstack-helm-images venv_builder/Dockerfile:
# `uv venv /var/lib/openstack`); the e2e runner mounts this venv there.
IMAGE_VENV = "/var/lib/openstack"
# The images' library dir (Ubuntu noble's Python 3.12): paths in the rendered manifests name it
# (Horizon's dashboard_root); this venv's own is lib/python3.<minor of Debian's python3>.
IMAGE_LIBDIR = "python3.12"


def build(release: str, cache_root: Path, index_url: str, python: str) -> Path:
    """Create or reuse the e2e venv of one release, one builder at a time; returns the venv directory."""
    root = cache_root / f"e2e-{release}"
    root.mkdir(parents=True, exist_ok=True)
    # concurrent `make test` runs (CI jobs, worktrees) share the cache: the first builds, the others wait
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(release, cache_root, index_url, python)


def _build(release: str, cache_root: Path, index_url: str, python: str) -> Path:
    spec = RELEASES[release]
    pinned = {**spec.services, **EXTRA_PINNED[release]}
    work = Workspace(cache_root / f"e2e-{release}", release, spec, index_url, python)
    work.sdists = cache_root / f"openstack-{release}" / "sdists"
    marker = work.root / "installed.json"
    wanted = {"pinned": pinned, "libraries": EXTRA_LIBRARIES, "cutoff": spec.cutoff, "index": index_url,
              "python": python, "scripts": IMAGE_VENV}
    held = json.loads(marker.read_text()) if marker.exists() and (work.bin / "uwsgi").exists() else {}
    if held == wanted:
        _libdir_as_in_image(work.venv)
        log(f"e2e {release}: venv already has the release installed ({work.venv})")
        return work.venv
    started = time.monotonic()
    if held and all(held.get(k) == wanted[k] for k in ("pinned", "cutoff", "index", "python")):
        if held.get("libraries") != EXTRA_LIBRARIES:
            log(f"e2e {release}: adding libraries {' '.join(EXTRA_LIBRARIES)} (uploaded before {spec.cutoff})")
            work.pip("install", "--quiet", "--index-url", index_url, "--uploaded-prior-to", spec.cutoff,
                     *EXTRA_LIBRARIES)
    else:
        if work.venv.exists():
            log(f"e2e {release}: venv holds another package set; recreating it")
            marker.unlink(missing_ok=True)
            shutil.rmtree(work.venv)
        work.ensure_venv()
        sdists = _sdists(work, pinned, index_url)
        log(f"e2e {release}: installing {len(pinned)} pinned sdists, libraries uploaded before {spec.cutoff}")
        work.pip("install", "--quiet", "--index-url", index_url, "--uploaded-prior-to", spec.cutoff,
                 *sdists, *(lib for lib in EXTRA_LIBRARIES if lib != "uwsgi"))
        # uWSGI embeds the interpreter it is compiled against: never a wheel pip cached from another
        # python of the same tag (the validator's venv uses pyenv's 3.11, this one Debian's)
        work.pip("install", "--quiet", "--no-cache-dir", "--index-url", index_url,
                 "--uploaded-prior-to", spec.cutoff, "uwsgi")
    _scripts_as_in_image(work.venv)
    _libdir_as_in_image(work.venv)
    marker.write_text(json.dumps(wanted, sort_keys=True))
    log(f"e2e {release}: installed in {time.monotonic() - started:.0f} s ({work.venv})")
    return work.venv


def _sdists(work: Workspace, pinned: dict[str, str], index_url: str) -> list[str]:
    """The pinned packages' sdists, downloaded into the shared sdists directory when missing."""
    missing = [f"{n}=={v}" for n, v in pinned.items() if not _sdist(work, n, v)]
    if missing:
        log(f"e2e {work.release}: downloading {' '.join(missing)}")
        work.sdists.mkdir(parents=True, exist_ok=True)
        work.pip("download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 "--index-url", work.index_url, "--dest", str(work.sdists), *missing)
    return [str(_sdist(work, n, v)) for n, v in pinned.items()]


def _libdir_as_in_image(venv: Path) -> None:
    """lib/python3.12 -> this venv's lib/python3.N, so that the image's paths lead into it."""
    link = venv / "lib" / IMAGE_LIBDIR
    own = [p.name for p in (venv / "lib").glob("python3.*") if not p.is_symlink()]
    if len(own) == 1 and own[0] != IMAGE_LIBDIR and not link.is_symlink():
        link.symlink_to(own[0])


def _scripts_as_in_image(venv: Path) -> None:
    """Point the console scripts' shebangs at the image's venv path, as the images' scripts do.

    The scripts then run wherever the venv is mounted at /var/lib/openstack (the e2e runner's
    pods), by any user: this cache lives under /root, which other users cannot traverse.
    """
    old = f"#!{venv}/bin/python".encode()
    new = f"#!{IMAGE_VENV}/bin/python".encode()
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(old):
                script.write_bytes(new + data[len(old):])


def _sdist(work: Workspace, name: str, version: str) -> Path | None:
    return find_dist(work.sdists, name, version, ".tar.gz")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", nargs="?", default="2026.1", choices=sorted(EXTRA_PINNED))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "ccp-gitops")
    parser.add_argument("--index-url", default=os.environ.get("OPTION_CATALOGUES_INDEX_URL", DEFAULT_INDEX))
    # The distribution's python3, as in the images (base/Dockerfile: python3, python3-venv): any
    # user can run it, unlike an interpreter under /root.
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter for the venv")
    args = parser.parse_args(argv)
    print(build(args.release, args.cache_dir, args.index_url, args.python))


if __name__ == "__main__":
    main()
