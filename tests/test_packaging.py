"""A wheel carries the catalogue and the schemas, so an installed ccp-gitops compiles anywhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_catalogue_and_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    [wheel] = tmp_path.glob("ccp_gitops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "ccp_gitops/_catalogue/base/defaults.yaml",
        "ccp_gitops/_catalogue/components/keystone/component.yaml",
        "ccp_gitops/_catalogue/overlays/prod/env.yaml",
        "ccp_gitops/_catalogue/schemas/env.schema.json",
        "ccp_gitops/_catalogue/schemas/openstack/2026.1/keystone.conf.json",
        "ccp_gitops/compile/pipeline.py",
        "ccp_gitops/checks/k8s/schema.py",
        "ccp_gitops/diff/render/text.py",
    ):
        assert needed in names, needed
    # the catalogue's templates compiled at build time (ccp_gitops/precompiled.py)
    compiled = [n for n in names if n.startswith("ccp_gitops/_precompiled/t_") and n.endswith(".py")]
    assert len(compiled) >= len(list(ROOT.glob("components/*/templates/*.yaml.j2"))), len(compiled)
