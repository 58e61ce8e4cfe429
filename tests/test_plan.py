"""``ccp-gitops plan``: golden outputs, the README's diagram, reading a committed tree, CLI errors.

Goldens live in tests/golden/; after an intended change run ``make golden`` and review ``git diff tests/golden``.
The catalogue goldens change whenever a component is added to the bundled catalogue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ccp_gitops.order.plan import FORMATS, PlanError, build_plan

from .compiled import FIXTURE, compile_env
from .golden import assert_golden

ROOT = Path(__file__).resolve().parents[1]


BOTH = ["argocd", "flux"]


@pytest.mark.parametrize(
    ("source", "label", "env", "fmt", "engines"),
    [
        pytest.param(FIXTURE, "fixture", "prod", "text", None, id="fixture-prod-text"),
        pytest.param(FIXTURE, "fixture", "prod", "json", None, id="fixture-prod-json"),
        pytest.param(FIXTURE, "fixture", "prod", "mermaid", None, id="fixture-prod-mermaid"),
        pytest.param(FIXTURE, "fixture", "dev", "text", None, id="fixture-dev-text"),
        pytest.param(FIXTURE, "fixture", "fleet", "text", None, id="fixture-fleet-text"),
        pytest.param(ROOT, "catalogue", "prod", "text", BOTH, id="catalogue-prod-text"),
        pytest.param(ROOT, "catalogue", "dev", "text", BOTH, id="catalogue-dev-text"),
        pytest.param(ROOT, "catalogue", "prod", "mermaid", None, id="catalogue-prod-mermaid"),
    ],
)
def test_plan_matches_golden(source: Path, label: str, env: str, fmt: str, engines: list[str] | None) -> None:
    compiled = compile_env(source, env, engines)
    suffix = {"text": "txt", "json": "json", "mermaid": "mmd"}[fmt]
    assert_golden(f"plan-{label}-{env}.{suffix}", FORMATS[fmt](build_plan(compiled.tree.files, env)))


def test_plan_cli_prints_the_golden_text(run_cli: Any) -> None:
    proc = run_cli("plan", "env/prod", "--source", str(FIXTURE))
    assert proc.returncode == 0, proc.stderr
    assert_golden("plan-fixture-prod.txt", proc.stdout)


def test_plan_engine_option_selects_the_engines(run_cli: Any) -> None:
    proc = run_cli("plan", "prod", "--source", str(FIXTURE), "--engine", "flux")
    assert proc.returncode == 0, proc.stderr
    assert "\nFlux\n" in proc.stdout and "\nArgo CD\n" not in proc.stdout
    both = run_cli("plan", "overlays/dev", "--source", str(FIXTURE), "--engine", "both")
    assert "\nFlux\n" in both.stdout and "\nArgo CD\n" in both.stdout


def test_readme_embeds_the_same_waves_diagram_as_plan(run_cli: Any) -> None:
    compiled = compile_env(FIXTURE, "prod")
    readme = compiled.tree.files["env/prod/README.md"].decode()
    block = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == FORMATS["mermaid"](build_plan(compiled.tree.files, "prod"))
    assert "identity --> compute" in block.group(1) and 'subgraph wave2["wave 2"]' in block.group(1)


def test_plan_reads_what_is_committed_with_repo(tmp_path: Path, run_cli: Any) -> None:
    repo = tmp_path / "repo"
    assert run_cli("compile", "env/dev", "--source", str(FIXTURE), "--repo", str(repo)).returncode == 0
    committed = run_cli("plan", "env/dev", "--source", str(FIXTURE), "--repo", str(repo))
    assert committed.returncode == 0, committed.stderr
    assert committed.stdout == run_cli("plan", "env/dev", "--source", str(FIXTURE)).stdout
    missing = run_cli("plan", "env/dev", "--source", str(FIXTURE), "--repo", str(repo), "--engine", "argocd")
    assert missing.returncode == 1 and "has no Argo CD delivery folder" in missing.stderr
    no_branch = run_cli("plan", "env/dev", "--source", str(FIXTURE), "--repo", str(repo), "--branch", "nope")
    assert no_branch.returncode == 1 and "no branch 'nope'" in no_branch.stderr


def test_plan_refuses_a_tree_with_a_broken_reference() -> None:
    files = dict(compile_env(FIXTURE, "prod").tree.files)
    del files["env/prod/identity/deployment-identity-api.yaml"]
    with pytest.raises(PlanError, match="env/prod/identity/deployment-identity-api.yaml: missing"):
        build_plan(files, "prod")


def test_plan_cli_errors(run_cli: Any) -> None:
    assert "Example:" in run_cli("plan", "--help").stdout
    bad_format = run_cli("plan", "prod", "--source", str(FIXTURE), "--format", "yaml")
    assert bad_format.returncode == 2 and "--format must be one of text, json, mermaid" in bad_format.stderr
    unknown = run_cli("plan", "staging", "--source", str(FIXTURE))
    assert unknown.returncode == 2 and "unknown environment 'staging'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + bad_format.stderr
