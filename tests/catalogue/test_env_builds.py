"""Every environment the catalogue ships compiles and builds with kustomize, as Argo CD / Flux would."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .support import kustomize_build


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_kustomize_builds(catalogue: Path, tmp_path: Path, env: str) -> None:
    docs = [d for d in yaml.safe_load_all(kustomize_build(catalogue, env, tmp_path)) if d]
    kinds = {d["kind"] for d in docs}
    assert {"StatefulSet", "Service", "ExternalSecret"} <= kinds
    assert "Secret" not in kinds
