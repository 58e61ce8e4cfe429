"""Helpers for the diff tests: a fixture env repo compiled by the real pipeline, scenarios, goldens."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.repo.write import WriteOptions, run_compile

from .golden import assert_golden

HERE = Path(__file__).resolve().parent
FIXTURE_SOURCE = HERE / "fixtures" / "source"
GOLDEN_DIR = HERE / "golden" / "diff"
FIXED_GIT_ENV = {
    "GIT_AUTHOR_NAME": "ccp-gitops test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "ccp-gitops test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}

Edit = tuple[str, str, str]  # file, old text, new text

DASHBOARD_COMPONENT = """name: dashboard
version: 1.0.0
description: A web dashboard on top of the api.
depends_on: [api]
defaults:
  replicas:
    dashboard: 1
  images:
    dashboard: registry.example.com/openstack/dashboard:2026.1-20260105
"""
DASHBOARD_TEMPLATE = """apiVersion: batch/v1
kind: Job
metadata:
  name: dashboard-db-sync
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: db-sync
          image: {{ images.dashboard }}
          command: ["dashboard-manage", "migrate"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dashboard
spec:
  replicas: {{ replicas.dashboard }}
  selector:
    matchLabels:
      app.kubernetes.io/name: dashboard
  template:
    metadata:
      labels:
        app.kubernetes.io/name: dashboard
    spec:
      containers:
        - name: dashboard
          image: {{ images.dashboard }}
---
apiVersion: v1
kind: Service
metadata:
  name: dashboard
spec:
  selector:
    app.kubernetes.io/name: dashboard
  ports:
    - name: http
      port: 80
"""

# Each scenario edits a copy of the fixture source; the diff against the compiled original is golden.
SCENARIOS: dict[str, list[Edit]] = {
    "image-bump": [
        ("base/defaults.yaml", "api: registry.example.com/openstack/api:2026.1-20260105", "api: registry.example.com/openstack/api:2026.1-20260301"),
    ],
    "release-change": [
        ("overlays/prod/env.yaml", "namespace: openstack\n", 'namespace: openstack\nopenstack_release: "2026.2"\n'),
    ],
    "config-option": [
        ("overlays/prod/env.yaml", "    replicas: {api: 2}\n", "    replicas: {api: 2}\n    conf:\n      api.conf:\n        DEFAULT:\n          debug: true\n"),
    ],
    "config-text-file": [
        ("components/api/files/policy.yaml.j2", '"identity:list_projects": "rule:admin_required"', '"identity:list_projects": "rule:admin_or_reader"\n"admin_or_reader": "role:admin or role:reader"'),
    ],
    "replicas": [
        ("overlays/prod/env.yaml", "replicas: {api: 2}", "replicas: {api: 3}"),
        ("overlays/prod/env.yaml", "  worker: {}\n", "  worker:\n    replicas: {worker: 0}\n"),
    ],
    "component-added": [
        ("components/dashboard/component.yaml", "", DASHBOARD_COMPONENT),
        ("components/dashboard/templates/dashboard.yaml.j2", "", DASHBOARD_TEMPLATE),
        ("overlays/prod/env.yaml", "  worker: {}\n", "  worker: {}\n  dashboard: {}\n"),
    ],
    "component-removed": [
        ("overlays/prod/env.yaml", "  worker: {}\n", ""),
    ],
    "immutable-field": [
        ("components/db/component.yaml", "storage: 1Gi", "storage: 2Gi"),
    ],
    "secret-change": [
        ("components/api/templates/api.yaml.j2", "@db.openstack.svc:3306/api", "@db-primary.openstack.svc:3306/api"),
        ("components/db/templates/db.yaml.j2", '  refreshPolicy: CreatedOnce\n  refreshInterval: "0s"', '  refreshPolicy: Periodic\n  refreshInterval: "1h"'),
    ],
}


def copy_source(dest: Path) -> Path:
    shutil.copytree(FIXTURE_SOURCE, dest)
    return dest


def apply_edits(source: Path, edits: list[Edit]) -> None:
    """Apply a scenario; an edit whose old text is missing fails loudly (the fixture moved)."""
    for rel, old, new in edits:
        path = source / rel
        if old == "":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new, encoding="utf-8")
            continue
        text = path.read_text(encoding="utf-8")
        assert old in text, f"scenario edit: {old!r} not found in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def compile_into(source: Path, repo: Path, env: str = "prod", branch: str | None = None) -> None:
    """Compile with the real pipeline into a real git repo (the compile verb's own code path)."""
    run_compile(SessionSpec(source), [env], WriteOptions(repo, branch))


@pytest.fixture
def fixed_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit ids that do not depend on the clock or the user, so goldens can name them."""
    for key, value in FIXED_GIT_ENV.items():
        monkeypatch.setenv(key, value)


_COMMIT = re.compile(r"(?<![0-9a-f])([0-9a-f]{40}|(?<=@)[0-9a-f]{10})(?![0-9a-f])")


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/diff/<name>; UPDATE_GOLDEN=1 rewrites it.

    Env-repo commit ids are masked: they change with any change to the compiled layout,
    which is not what these goldens pin (determinism has its own test).
    """
    assert_golden(f"diff/{name}", _COMMIT.sub(lambda m: "0" * len(m.group(1)), actual))
