"""``ccp-gitops validate``: every check, nothing written, text and JSON reports."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import cli


def test_validate_every_bundled_overlay_with_kustomize(tmp_path: Path) -> None:
    proc = cli("validate", "--all", "--kustomize", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "env/prod: ok" in proc.stdout and "kustomize build ok" in proc.stdout
    assert "warning" not in proc.stderr  # the suite gives the reference CRDs: everything is validated
    assert list(tmp_path.iterdir()) == []


def test_validate_json_report(catalogue: Path) -> None:
    proc = cli("validate", "prod", "dev", "--format", "json", "--source", str(catalogue))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    names = [e["name"] for e in report["environments"]]
    assert names == ["prod", "dev"]
    assert all(e["objects"] > 0 and e["warnings"] == [] for e in report["environments"])


def test_validate_reports_problems_with_exit_2(source_copy: Path) -> None:
    env_file = source_copy / "overlays/prod/env.yaml"
    env_file.write_text(env_file.read_text().replace("replicas: {api: 3}", "replicas: {api: -1}"))
    proc = cli("validate", "prod", "--source", str(source_copy))
    assert proc.returncode == 2
    assert "overlays/prod/env.yaml:" in proc.stderr and "-1 is less than the minimum of 0" in proc.stderr


def test_validate_needs_an_environment() -> None:
    proc = cli("validate")
    assert proc.returncode == 2
    assert "name at least one environment" in proc.stderr
