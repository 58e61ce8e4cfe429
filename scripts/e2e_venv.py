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


def build(release: str, cache_root: Path, index_url: str, python: str) -> Path:
    """Create or reuse the e2e venv of one release; returns the venv directory."""
    spec = RELEASES[release]
    pinned = {**spec.services, **EXTRA_PINNED[release]}
    work = Workspace(cache_root / f"e2e-{release}", release, spec, index_url, python)
    work.sdists = cache_root / f"openstack-{release}" / "sdists"
    marker = work.root / "installed.json"
    wanted = {"pinned": pinned, "libraries": EXTRA_LIBRARIES, "cutoff": spec.cutoff, "index": index_url}
    if marker.exists() and json.loads(marker.read_text()) == wanted and (work.bin / "uwsgi").exists():
        log(f"e2e {release}: venv already has the release installed ({work.venv})")
        return work.venv
    started = time.monotonic()
    held = json.loads(marker.read_text()) if marker.exists() else {}
    if held and {**held, "libraries": EXTRA_LIBRARIES} == wanted and (work.bin / "uwsgi").exists():
        log(f"e2e {release}: adding libraries {' '.join(EXTRA_LIBRARIES)} (uploaded before {spec.cutoff})")
        work.pip("install", "--quiet", "--index-url", index_url, "--uploaded-prior-to", spec.cutoff, *EXTRA_LIBRARIES)
        marker.write_text(json.dumps(wanted, sort_keys=True))
        return work.venv
    if work.venv.exists():
        log(f"e2e {release}: venv holds another package set; recreating it")
        marker.unlink(missing_ok=True)
        shutil.rmtree(work.venv)
    work.ensure_venv()
    missing = [f"{n}=={v}" for n, v in pinned.items() if not _sdist(work, n, v)]
    if missing:
        log(f"e2e {release}: downloading {' '.join(missing)}")
        work.sdists.mkdir(parents=True, exist_ok=True)
        work.pip("download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 "--index-url", index_url, "--dest", str(work.sdists), *missing)
    sdists = [str(_sdist(work, n, v)) for n, v in pinned.items()]
    log(f"e2e {release}: installing {len(pinned)} pinned sdists, libraries uploaded before {spec.cutoff}")
    work.pip("install", "--quiet", "--index-url", index_url, "--uploaded-prior-to", spec.cutoff,
             *sdists, *EXTRA_LIBRARIES)
    marker.write_text(json.dumps(wanted, sort_keys=True))
    log(f"e2e {release}: installed in {time.monotonic() - started:.0f} s ({work.venv})")
    return work.venv


def _sdist(work: Workspace, name: str, version: str) -> Path | None:
    return find_dist(work.sdists, name, version, ".tar.gz")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", nargs="?", default="2026.1", choices=sorted(EXTRA_PINNED))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "ccp-gitops")
    parser.add_argument("--index-url", default=os.environ.get("OPTION_CATALOGUES_INDEX_URL", DEFAULT_INDEX))
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venv")
    args = parser.parse_args(argv)
    print(build(args.release, args.cache_dir, args.index_url, args.python))


if __name__ == "__main__":
    main()
