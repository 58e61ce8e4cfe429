"""The real services' oslo-config-validator accepts every rendered config file of prod: no unknown option."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import pytest

from ccp_gitops.compile.parallel import compile_all

ROOT = Path(__file__).resolve().parents[1]
RELEASE = "2026.1"


@lru_cache(maxsize=None)
def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("option_catalogues", ROOT / "scripts/option_catalogues.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["option_catalogues"] = module
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def _release_root() -> Path:
    """The release's services installed once in a cached venv (`make test` prepares it)."""
    cache = os.environ.get("CCP_OPENSTACK_CACHE")
    script = _script()
    return Path(script.install_release(RELEASE, Path(cache) if cache else None, script.DEFAULT_INDEX, sys.executable))


@lru_cache(maxsize=None)
def _rendered() -> dict[str, str]:
    [compiled] = compile_all(ROOT, ["prod"], check=False)
    files: dict[str, str] = {}
    for obj in compiled.objects:
        if obj.id.kind == "ConfigMap":
            files.update({k: str(v) for k, v in (obj.body.get("data") or {}).items()})
    return files


def _validate(root: Path, generator_config: Path, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "input.conf"
    conf.write_text(text)
    return subprocess.run(
        [str(root / "venv/bin/python"), "-m", "oslo_config.validator", "--config-file", str(generator_config), "--input-file", str(conf)],
        capture_output=True, text=True,
    )


def _runtime_sections(glance_api_conf: str) -> set[str]:
    sections = {"os_glance_staging_store", "os_glance_tasks_store"}
    for line in glance_api_conf.splitlines():
        if line.startswith("enabled_backends"):
            sections |= {item.split(":")[0].strip() for item in line.split("=", 1)[1].split(",")}
    return sections


CONFIGS = [(c.name, c.package, c.generator_config) for c in _script().CONFIG_FILES]


@pytest.mark.parametrize("name, package, generator_config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_rendered_file_passes_oslo_config_validator(name: str, package: str, generator_config: str, tmp_path: Path) -> None:
    files = _rendered()
    assert name in files, f"prod renders no {name}"
    root = _release_root()
    proc = _validate(root, root / "generator" / package / generator_config, files[name], tmp_path)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ERROR")]
    # glance registers the options of each store section at run time (its reserved
    # os_glance_* stores and every enabled backend); the sample config cannot list them
    runtime = _runtime_sections(files[name]) if name == "glance-api.conf" else set()
    unexplained = [e for e in errors if not any(e.startswith(f"ERROR:root:{s}/") for s in runtime)]
    assert unexplained == [], proc.stdout + proc.stderr
    assert proc.returncode == 0 or errors, proc.stdout + proc.stderr


def test_the_validator_does_catch_a_typo(tmp_path: Path) -> None:
    root = _release_root()
    text = _rendered()["keystone.conf"].replace("[token]\n", "[token]\nexpiraton = 3600\n")
    proc = _validate(root, root / "generator/keystone/config-generator/keystone.conf", text, tmp_path)
    assert proc.returncode != 0
    assert "expiraton" in proc.stdout + proc.stderr
