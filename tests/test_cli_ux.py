"""Every verb: --help with an example, shell completion of verbs, environments and components, --format json."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ccp_gitops.cli.common import CRDS_HELP, SOURCE_HELP
from ccp_gitops.cli.main import app

from .ux_support import FIXTURE, run

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_the_verbs_are_registered() -> None:
    assert {"compile", "validate", "explain", "graph", "init", "fetch"} <= set(COMMANDS)


@pytest.mark.parametrize("verb", [None, *COMMANDS])
def test_help_has_an_example(verb: str | None) -> None:
    args = [verb, "--help"] if verb else ["--help"]
    result = CliRunner().invoke(app, args, prog_name="ccp-gitops")
    assert result.exit_code == 0, result.output
    examples = [line.strip() for line in result.output.splitlines() if line.strip().startswith("Example:")]
    assert examples, f"ccp-gitops {verb or ''} --help shows no 'Example:' line"
    assert all(e.startswith("Example: ccp-gitops ") for e in examples), examples


@pytest.mark.parametrize("verb", COMMANDS)
def test_every_format_option_offers_json(verb: str) -> None:
    """Consistency: a verb that prints results in several formats has json among them."""
    output = CliRunner().invoke(app, [verb, "--help"], prog_name="ccp-gitops", terminal_width=200).output
    block = re.search(r"^  --format .*?(?=^  -|\Z)", output, re.MULTILINE | re.DOTALL)
    if verb in ("explain", "graph", "init", "fetch", "validate", "diff"):
        assert block is not None, f"{verb} has no --format"
    if block is not None:
        assert "json" in block.group(0), f"{verb} --format does not offer json: {block.group(0)}"


@pytest.mark.parametrize("verb", ["compile", "validate", "diff", "plan"])
def test_verbs_that_compile_take_the_same_source_and_crd_options(verb: str) -> None:
    """One interface: every verb that compiles the source reads it and the CRDs through the same options."""
    command = next(c for c in app.registered_commands if c.name == verb)
    assert command.callback is not None
    options = {p.name: p.default for p in inspect.signature(command.callback).parameters.values()}
    assert options["source"].help == SOURCE_HELP and options["crds"].help == CRDS_HELP
    assert options["source"].default is None and options["crds"].default is None


def _complete(words: str, cwd: Path | None = None) -> list[str]:
    """What bash completion offers for the last word of ``words`` (typer's _CCP_GITOPS_COMPLETE protocol)."""
    parts = words.split(" ")
    env = {**os.environ, "_CCP_GITOPS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    proc = subprocess.run([sys.executable, "-m", "ccp_gitops"], capture_output=True, text=True, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_show_completion_script() -> None:
    # Typer detects the user's shell; its test switch makes the option take the shell's name instead.
    proc = run("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "_CCP_GITOPS_COMPLETE=complete_bash" in proc.stdout and "complete -o default -F _ccp_gitops_completion ccp-gitops" in proc.stdout


def test_completion_of_verbs_environments_and_components() -> None:
    assert _complete("ccp-gitops ex") == ["explain"]
    assert _complete(f"ccp-gitops explain --source {FIXTURE} ") == ["child", "parent"]
    assert _complete(f"ccp-gitops graph --source {FIXTURE} p") == ["parent"]
    assert _complete(f"ccp-gitops explain --source {FIXTURE} child w") == ["web"]
    assert _complete("ccp-gitops graph prod --format ") == ["mermaid", "dot", "svg", "json"]


def test_completion_in_a_site_offers_catalogue_components(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("init", str(site)).returncode == 0
    assert _complete("ccp-gitops explain ", cwd=site) == ["example"]
    assert "keystone" in _complete("ccp-gitops explain example k", cwd=site)


def test_prog_name_is_ccp_gitops_under_python_m() -> None:
    assert run("--help").stdout.startswith("Usage: ccp-gitops ")
