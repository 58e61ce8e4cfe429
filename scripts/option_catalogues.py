#!/usr/bin/env python3
"""Build the OpenStack option catalogues in schemas/openstack/<release>/ from the real services.

For each release this maintainer script

1. creates (or reuses) a throw-away venv under the cache directory
   (default ``~/.cache/ccp-gitops/openstack-<release>``),
2. downloads the sdists of the release's service packages (``RELEASES``
   below) from PyPI: only the sdists carry the generator config files, and
   their metadata is the complete one (neutron's wheels leave out the
   ``pyroute2`` requirement that its sdist's PKG-INFO has),
3. installs the services from those sdists and resolves every library they
   need *as PyPI had them when the release came out* (pip's
   ``--uploaded-prior-to``; see "Library versions" below),
4. runs ``oslo-config-generator --format json`` once per config file, with the
   project's own generator config file (``--config-file``), so the namespace
   list is exactly the one the project uses for its sample config,
5. runs ``scripts/oslo_opts_probe.py`` inside the venv for the facts the JSON
   leaves out (exact type class, multi-valued, list item type, keystoneauth
   plugin options, glance's reserved stores), and
6. writes one compact catalogue per config file (help text dropped) plus a
   ``manifest.json`` with every installed version.

Library versions: the OpenStack upper-constraints file of a release is not
published on PyPI, and this script uses nothing but PyPI.  Instead the service
packages are pinned to the newest point release of their series and every other
package is resolved with ``pip install --uploaded-prior-to <cutoff>``, where the
cutoff is the day after the coordinated release: that is the library set the
release was frozen against (the next cycle's oslo libraries are uploaded after
it).  Local files are exempt from the cutoff, which is what lets the pinned
point releases in.  pip runs with ``--isolated`` and an explicit index: a local
index or ``find-links`` directory from the machine's pip configuration has no
upload times, and pip would take its files whatever their age.

Catalogue format (``schemas/openstack/<release>/<file>.json``)::

    {"release": "2026.1", "file": "keystone.conf",
     "sections": {"token": {"expiration": {"type": "integer", "min": 0, ...}}},
     "backend_sections": {...}}            # glance-api.conf only

Each option: ``type`` (string, integer, float, boolean, list, dict, port,
hostaddress, hostdomain, hostname, ipaddress, uri, range, multistring or
unknown), and when they apply ``item_type``, ``multi``, ``version``,
``choices``, ``min``, ``max``, ``default`` (the sample default where the
project documents one, so that no value of the build machine leaks in),
``secret``, ``deprecated_names`` ([{"section", "name"}]),
``deprecated_for_removal``, ``deprecated_reason``, ``deprecated_since`` and
``auth_plugins`` (keystoneauth1 plugin options, see below).  Options are keyed
by ``dest``, the name that config files use (keystoneauth1 names its options
``auth-url`` but they are read as ``auth_url``).

Dynamic options:

* keystoneauth1 plugin options (``auth_url``, ``username``, ``password``, ...)
  are registered at run time for the plugin named by ``auth_type``; the
  generator lists them only where a project lists them itself (nova's
  ``[neutron]``), not in ``[keystone_authtoken]``.  Every section that has
  ``auth_type`` and ``auth_section`` gets the options of ``AUTH_PLUGINS``
  added, each marked with the plugins that read it.
* glance registers a section per backend named in ``[DEFAULT]
  enabled_backends`` (``id:type``), with the options of that store type, plus
  its reserved ``os_glance_*_store`` sections.  The generator prints the store
  types' options as template sections (``[file]``,
  ``[glance.store.rbd.store]``, ...); they go to ``backend_sections.templates``
  and glance_store's rule applies: a backend of type ``T`` gets the options of
  every template whose name contains ``T``.

Usage: ``python scripts/option_catalogues.py [--cache-dir DIR] [RELEASE ...]``
(all releases when none is named).  ``make option-catalogues`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "oslo_opts_probe.py"
DEFAULT_INDEX = "https://pypi.org/simple"


@dataclass(frozen=True)
class Release:
    """One OpenStack release: its service versions and the library cutoff."""

    released: str
    cutoff: str
    services: dict[str, str]


# Versions checked with `pip index versions` and the upload dates on PyPI: the
# x.0.0 of every service below was uploaded on the coordinated release day, and
# the pinned version is the newest point release of that series.
RELEASES: dict[str, Release] = {
    # 2026.1 "Gazpacho"
    "2026.1": Release(
        released="2026-04-01",
        cutoff="2026-04-02T00:00:00Z",
        services={
            "keystone": "29.1.0",
            "glance": "32.0.0",
            "nova": "33.0.2",
            "neutron": "28.0.2",
            "openstack-placement": "15.0.0",
        },
    ),
    "2026.2": Release(
        released="2026-09-30",
        cutoff="2026-10-01T00:00:00Z",
        services={
            "keystone": "30.0.0",
            "glance": "33.0.0",
            "nova": "34.0.0",
            "neutron": "29.0.0",
            "openstack-placement": "16.0.0",
        },
    ),
}


@dataclass(frozen=True)
class ConfigFile:
    """A config file a service reads and the generator config that describes it."""

    name: str
    package: str
    generator_config: str  # path inside the package's sdist


CONFIG_FILES: list[ConfigFile] = [
    ConfigFile("keystone.conf", "keystone", "config-generator/keystone.conf"),
    ConfigFile("glance-api.conf", "glance", "etc/oslo-config-generator/glance-api.conf"),
    ConfigFile("nova.conf", "nova", "etc/nova/nova-config-generator.conf"),
    ConfigFile("placement.conf", "openstack-placement", "etc/placement/config-generator.conf"),
    *(
        ConfigFile(name, "neutron", f"etc/oslo-config-generator/{name}")
        for name in (
            "neutron.conf",
            "ml2_conf.ini",
            "openvswitch_agent.ini",
            "dhcp_agent.ini",
            "l3_agent.ini",
            "metadata_agent.ini",
        )
    ),
]

# keystoneauth1 plugins whose options are added to every auth section.
AUTH_PLUGINS = ["password", "v3password", "v3applicationcredential"]

# Per file: where glance keeps its reserved stores (read in the venv).
CONSTANTS = {"glance-api.conf": ["glance.common.wsgi_app", "RESERVED_STORES"]}
BACKEND_FILES = {"glance-api.conf": {"section": "DEFAULT", "option": "enabled_backends"}}
BACKEND_TEMPLATE_NAMESPACE = "glance.multi_store"
BACKEND_OWN_SECTION = "glance_store"  # listed by glance.multi_store, but a real section

# Fallback for options the probe did not see (should not happen): type_name -> type.
TYPE_NAMES = {
    "string value": "string",
    "integer value": "integer",
    "floating point value": "float",
    "boolean value": "boolean",
    "list value": "list",
    "dict value": "dict",
    "port value": "port",
    "host address value": "hostaddress",
    "host domain value": "hostdomain",
    "hostname value": "hostname",
    "IP address value": "ipaddress",
    "uri value": "uri",
    "range value": "range",
    "multi valued": "multistring",
}


def log(message: str) -> None:
    print(f"option-catalogues: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, failing loudly with its output when it fails."""
    result = subprocess.run(cmd, text=True, capture_output=True, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(cmd)}")
    return result


def find_dist(directory: Path, name: str, version: str, suffix: str) -> Path | None:
    """The downloaded sdist (or wheel) of name==version (file names spell - . _ alike)."""

    def norm(text: str) -> str:
        return re.sub(r"[-_.]+", "_", text).lower()

    wanted = norm(f"{name}-{version}")
    for path in sorted(directory.glob(f"*{suffix}")):
        stem = norm(path.name[: -len(suffix)])
        if stem == wanted or stem.startswith(wanted + "_"):
            return path
    return None


class Workspace:
    """The cache directory of one release: venv, downloads, raw generator output."""

    def __init__(self, root: Path, release: str, spec: Release, index_url: str, python: str):
        self.root = root
        self.release = release
        self.spec = spec
        self.index_url = index_url
        self.python = python
        self.venv = root / "venv"
        self.bin = self.venv / "bin"
        self.sdists = root / "sdists"
        self.raw = root / "raw"

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([str(self.bin / "python"), "-m", "pip", "--isolated", *args])

    def ensure_venv(self) -> None:
        if not (self.bin / "python").exists():
            log(f"{self.release}: creating venv {self.venv}")
            run([self.python, "-m", "venv", str(self.venv)])
            # --uploaded-prior-to needs pip 26.
            self.pip("install", "--quiet", "--index-url", self.index_url, "pip>=26")

    def python_version(self) -> str:
        return run([str(self.bin / "python"), "-c", "import platform; print(platform.python_version())"]).stdout.strip()

    def download(self) -> None:
        """The services' sdists: what gets installed, and the generator configs."""
        self.sdists.mkdir(parents=True, exist_ok=True)
        missing = [
            f"{name}=={version}"
            for name, version in self.spec.services.items()
            if not find_dist(self.sdists, name, version, ".tar.gz")
        ]
        if missing:
            log(f"{self.release}: downloading {' '.join(missing)}")
            self.pip(
                "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                "--index-url", self.index_url, "--dest", str(self.sdists), *missing,
            )

    def install(self) -> None:
        """Install the services into a fresh venv, unless the venv already has exactly this set."""
        marker = self.root / "installed.json"
        wanted = {
            "services": self.spec.services,
            "from": "sdist",
            "cutoff": self.spec.cutoff,
            "index": self.index_url,
        }
        if marker.exists() and json.loads(marker.read_text()) == wanted:
            log(f"{self.release}: venv already has the release installed")
            return
        if marker.exists():
            log(f"{self.release}: venv holds another package set; recreating it")
            marker.unlink()
            shutil.rmtree(self.venv)
            self.ensure_venv()
        log(f"{self.release}: installing services, libraries uploaded before {self.spec.cutoff}")
        sdists = [self._dist(self.sdists, name, version, ".tar.gz") for name, version in self.spec.services.items()]
        self.pip(
            "install", "--quiet", "--index-url", self.index_url,
            "--uploaded-prior-to", self.spec.cutoff, *(str(p) for p in sdists),
        )
        marker.write_text(json.dumps(wanted, sort_keys=True))

    def _dist(self, directory: Path, name: str, version: str, suffix: str) -> Path:
        found = find_dist(directory, name, version, suffix)
        if found is None:
            raise SystemExit(f"no {suffix} of {name}=={version} in {directory}")
        return found

    def generator_config(self, config: ConfigFile) -> Path:
        """Extract the project's generator config file from its sdist."""
        sdist = self._dist(self.sdists, config.package, self.spec.services[config.package], ".tar.gz")
        target = self.root / "generator" / config.package / config.generator_config
        if not target.exists():
            with tarfile.open(sdist) as archive:
                top = archive.getnames()[0].split("/")[0]
                member = archive.extractfile(f"{top}/{config.generator_config}")
                if member is None:
                    raise SystemExit(f"{config.generator_config} is not a file in {sdist}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
        return target

    def generate(self, config: ConfigFile) -> dict[str, Any]:
        """Run oslo-config-generator's machine-readable output for one config file."""
        self.raw.mkdir(parents=True, exist_ok=True)
        output = self.raw / f"{config.name}.json"
        run([
            str(self.bin / "oslo-config-generator"),
            "--config-file", str(self.generator_config(config)),
            "--format", "json",
            "--output-file", str(output),
        ])
        data: dict[str, Any] = json.loads(output.read_text())
        return data

    def probe(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ask scripts/oslo_opts_probe.py, run by the venv's interpreter, one question."""
        result = run([str(self.bin / "python"), str(PROBE)], input=json.dumps(request))
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    def installed(self) -> list[str]:
        listing = json.loads(self.pip("list", "--format", "json").stdout)
        return sorted(f"{p['name']}=={p['version']}" for p in listing)


def section_name(group: str | None, default: str) -> str:
    """Normalise a section name the way oslo.config does (DEFAULT exact, others lower case)."""
    if not group:
        return default
    return "DEFAULT" if group.upper() == "DEFAULT" else group.lower()


def scrub(value: Any, machine: dict[str, str]) -> Any:
    """Replace values of the build machine (hostname, IP, venv path) by placeholders."""
    if isinstance(value, str):
        for placeholder, actual in machine.items():
            if placeholder == "<venv>":
                value = value.replace(actual, placeholder)
            elif value == actual:
                return placeholder
        return value
    if isinstance(value, list):
        return [scrub(v, machine) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, machine) for k, v in value.items()}
    return value


def option_spec(entry: dict[str, Any], section: str, type_info: dict[str, Any] | None) -> dict[str, Any]:
    """One generator JSON entry -> one compact catalogue entry."""
    spec: dict[str, Any] = dict(type_info) if type_info else {"type": TYPE_NAMES.get(entry["type"], "unknown")}
    if entry.get("choices"):
        spec["choices"] = [choice[0] for choice in entry["choices"]]
    for bound in ("min", "max"):
        if entry.get(bound) is not None:
            spec[bound] = entry[bound]
    default = entry["sample_default"] if entry.get("sample_default") is not None else entry.get("default")
    if default is not None:
        spec["default"] = default
    if entry.get("secret"):
        spec["secret"] = True
    deprecated = []
    for old in entry.get("deprecated_opts") or []:
        name = {"section": section_name(old.get("group"), section), "name": old["name"].replace("-", "_")}
        if (name["section"], name["name"]) != (section, entry["dest"]) and name not in deprecated:
            deprecated.append(name)
    if deprecated:
        spec["deprecated_names"] = sorted(deprecated, key=lambda d: (d["section"], d["name"]))
    if entry.get("deprecated_for_removal"):
        spec["deprecated_for_removal"] = True
    for key in ("deprecated_reason", "deprecated_since"):
        if entry.get(key):
            spec[key] = " ".join(str(entry[key]).split())
    return spec


def build_catalogue(
    release: str, config: ConfigFile, raw: dict[str, Any], probe: dict[str, Any]
) -> dict[str, Any]:
    """Turn the generator's JSON and the probe's answer into the catalogue of one file."""
    types = probe["types"]
    sections: dict[str, dict[str, Any]] = {"DEFAULT": {}}
    templates: dict[str, dict[str, Any]] = {}
    backend = BACKEND_FILES.get(config.name)
    for group, data in raw["options"].items():
        section = section_name(group, "DEFAULT")
        opts = data["opts"]
        if not opts:
            continue
        is_template = (
            backend is not None
            and section != BACKEND_OWN_SECTION
            and all(o["namespace"] == BACKEND_TEMPLATE_NAMESPACE for o in opts)
        )
        target = (templates if is_template else sections).setdefault(section, {})
        for entry in opts:
            dest = entry["dest"]
            if dest not in target:
                spec = option_spec(entry, section, types.get(section, {}).get(dest))
                if "default" in spec:
                    spec["default"] = scrub(spec["default"], probe["machine"])
                target[dest] = spec
    for name, options in sections.items():
        if "auth_type" in options and "auth_section" in options:
            add_auth_plugin_options(name, options, probe["auth_plugins"])
    catalogue: dict[str, Any] = {"release": release, "file": config.name, "sections": sections}
    if backend is not None:
        catalogue["backend_sections"] = {
            "declared_by": backend,
            "reserved": probe["constant"],
            "templates": templates,
        }
    return catalogue


def add_auth_plugin_options(
    name: str, section: dict[str, Any], plugins: dict[str, list[dict[str, Any]]]
) -> None:
    """Add the keystoneauth1 plugin options a section may hold, marked with their plugins."""
    for plugin in AUTH_PLUGINS:
        for entry in plugins[plugin]:
            existing = section.get(entry["dest"])
            if existing is None:
                spec = {k: v for k, v in entry.items() if k not in ("dest", "deprecated_names")}
                deprecated = [
                    {"section": section_name(old["section"], name), "name": old["name"]}
                    for old in entry.get("deprecated_names", [])
                ]
                if deprecated:
                    spec["deprecated_names"] = deprecated
                spec["auth_plugins"] = [plugin]
                section[entry["dest"]] = spec
            elif "auth_plugins" in existing and plugin not in existing["auth_plugins"]:
                existing["auth_plugins"].append(plugin)


def dumps(value: Any) -> str:
    """Deterministic JSON: sorted keys, one option per line, everything else compact."""

    def is_leaf(v: Any) -> bool:
        return not isinstance(v, dict) or not v or isinstance(v.get("type"), str) or not any(
            isinstance(x, dict) for x in v.values()
        )

    def render(v: Any) -> str:
        if is_leaf(v):
            return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        items = [f"{json.dumps(k, ensure_ascii=False)}:{render(x)}" for k, x in sorted(v.items())]
        return "{\n" + ",\n".join(items) + "\n}"

    return render(value) + "\n"


def build_release(release: str, cache_root: Path | None, out_root: Path, index_url: str, python: str) -> None:
    spec = RELEASES[release]
    root = (cache_root or Path.home() / ".cache" / "ccp-gitops") / f"openstack-{release}"
    work = Workspace(root, release, spec, index_url, python)
    work.ensure_venv()
    work.download()
    work.install()
    raws = {}
    probes = {}
    for config in CONFIG_FILES:
        log(f"{release}: oslo-config-generator for {config.name}")
        raws[config.name] = raw = work.generate(config)
        probes[config.name] = work.probe(
            {"namespaces": raw["generator_options"]["namespace"], "auth_plugins": AUTH_PLUGINS, "machine": True}
        )
        if config.name in CONSTANTS:
            probes[config.name]["constant"] = work.probe({"constant": CONSTANTS[config.name]})["constant"]
    target = out_root / release
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    manifest_files = {}
    for config in CONFIG_FILES:
        catalogue = build_catalogue(release, config, raws[config.name], probes[config.name])
        (target / f"{config.name}.json").write_text(dumps(catalogue))
        manifest_files[config.name] = {
            "package": f"{config.package}=={spec.services[config.package]}",
            "generator_config": config.generator_config,
            "namespaces": raws[config.name]["generator_options"]["namespace"],
        }
    manifest = {
        "release": release,
        "released": spec.released,
        "libraries_uploaded_before": spec.cutoff,
        "python": work.python_version(),
        "services": spec.services,
        "files": manifest_files,
        "installed": work.installed(),
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    log(f"{release}: wrote {len(CONFIG_FILES)} catalogues to {target}")


def install_release(release: str, cache_root: Path | None, index_url: str, python: str) -> Path:
    """Only the release's venv and generator configs (what the oslo-config-validator test needs)."""
    spec = RELEASES[release]
    root = (cache_root or Path.home() / ".cache" / "ccp-gitops") / f"openstack-{release}"
    work = Workspace(root, release, spec, index_url, python)
    work.ensure_venv()
    work.download()
    work.install()
    for config in CONFIG_FILES:
        work.generator_config(config)
    log(f"{release}: services installed in {work.venv}")
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="*", help=f"releases to build (default: {' '.join(RELEASES)})")
    parser.add_argument("--cache-dir", type=Path, help="parent of the per-release venvs (default ~/.cache/ccp-gitops)")
    parser.add_argument("--output", type=Path, default=REPO / "schemas" / "openstack", help="catalogue root")
    parser.add_argument("--index-url", default=os.environ.get("OPTION_CATALOGUES_INDEX_URL", DEFAULT_INDEX))
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venvs (3.11 here)")
    parser.add_argument("--install-only", action="store_true", help="install the services (cached) without writing catalogues")
    args = parser.parse_args(argv)
    releases = args.releases or list(RELEASES)
    unknown = [r for r in releases if r not in RELEASES]
    if unknown:
        parser.error(f"unknown release(s) {', '.join(unknown)}; known: {', '.join(RELEASES)}")
    for release in releases:
        if args.install_only:
            install_release(release, args.cache_dir, args.index_url, args.python)
        else:
            build_release(release, args.cache_dir, args.output, args.index_url, args.python)


if __name__ == "__main__":
    main()
