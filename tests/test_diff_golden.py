"""Golden diffs (text, markdown, JSON) of scenarios on the fixture source, compiled into a real env repo."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.diff.compare import diff_revs, diff_source
from ccp_gitops.diff.render.json import SCHEMA_PATH, render_json
from ccp_gitops.diff.render.markdown import render_markdown
from ccp_gitops.diff.render.text import render_text

from .diff_fixtures import SCENARIOS, apply_edits, check_golden, compile_into, copy_source, fixed_git  # noqa: F401

pytestmark = pytest.mark.usefixtures("fixed_git")


@pytest.fixture
def scenario_repo(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """(edited source, env repo with the original compiled on main)."""
    source = copy_source(tmp_path / "source")
    repo = tmp_path / "env-repo"
    compile_into(source, repo)
    apply_edits(source, SCENARIOS[request.param])
    return source, repo


@pytest.mark.parametrize("scenario_repo", sorted(SCENARIOS), indirect=True)
def test_golden_outputs(scenario_repo: tuple[Path, Path], request: pytest.FixtureRequest) -> None:
    source, repo = scenario_repo
    name = request.node.callspec.id
    report = diff_source(SessionSpec(source), ["prod"], repo)
    assert not report.empty
    check_golden(f"{name}.txt", render_text(report))
    check_golden(f"{name}.md", "".join(render_markdown(report)))
    if name == "release-change":  # what a split comment looks like: parts, continued <details>
        parts = render_markdown(report, 2000)
        assert len(parts) > 1 and all(len(p.encode()) <= 2000 for p in parts)
        check_golden(f"{name}.split-2000.md", "".join(parts))
    data = render_json(report)
    check_golden(f"{name}.json", data)
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(data))


def test_a_release_change_is_not_compiled_onto_a_review_branch(tmp_path: Path) -> None:
    """The release-change scenario is an upgrade: compile refuses it (``ccp-gitops upgrade`` stages it)."""
    from ccp_gitops.model.problems import InputError

    source = copy_source(tmp_path / "source")
    repo = tmp_path / "env-repo"
    compile_into(source, repo)
    apply_edits(source, SCENARIOS["release-change"])
    with pytest.raises(InputError, match="a release change is a staged upgrade"):
        compile_into(source, repo, branch="review/change")


@pytest.mark.parametrize("scenario_repo", ["component-removed", "secret-change", "image-bump"], indirect=True)
def test_rev_to_rev_reports_what_source_mode_reports(scenario_repo: tuple[Path, Path]) -> None:
    """compile --branch review/x, then diff main..review/x: the same findings as the source diff."""
    source, repo = scenario_repo
    from_source = json.loads(render_json(diff_source(SessionSpec(source), ["prod"], repo)))
    compile_into(source, repo, branch="review/change")
    from_revs = json.loads(render_json(diff_revs(repo, "main", "review/change", ["prod"])))
    for key in ("summary", "resources", "upgrades", "restarts", "reruns", "risks"):
        assert from_revs[key] == from_source[key], key
    assert from_revs["environments"][0]["to"]["kind"] == "rev"
    assert from_revs["environments"][0]["to"]["rev"] == "review/change"


@pytest.mark.parametrize("scenario_repo", ["config-option"], indirect=True)
def test_same_inputs_same_bytes(scenario_repo: tuple[Path, Path]) -> None:
    source, repo = scenario_repo
    first = [render_text(diff_source(SessionSpec(source), ["prod"], repo)), render_json(diff_source(SessionSpec(source), ["prod"], repo))]
    second = [render_text(diff_source(SessionSpec(source), ["prod"], repo)), render_json(diff_source(SessionSpec(source), ["prod"], repo))]
    assert first == second
    assert render_markdown(diff_source(SessionSpec(source), ["prod"], repo)) == render_markdown(diff_source(SessionSpec(source), ["prod"], repo))
