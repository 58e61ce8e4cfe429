"""The diff verb as a user runs it: exit codes, bad input, colour only on a terminal, output files."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, cli
from .diff_fixtures import FIXED_GIT_ENV, SCENARIOS, apply_edits, check_golden, compile_into, copy_source, fixed_git  # noqa: F401

pytestmark = pytest.mark.usefixtures("fixed_git")


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """(fixture source, env repo holding its compile on main)."""
    source = copy_source(tmp_path / "source")
    repo = tmp_path / "env-repo"
    compile_into(source, repo)
    return source, repo


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if len(lines) == 2:  # input problems end with the same summary line as every verb
        assert lines[1] == "ccp-gitops: 1 error(s); nothing was written", proc.stderr
        lines = lines[:1]
    assert len(lines) == 1, proc.stderr
    assert proc.stdout == ""
    return lines[0]


def test_cli_output_is_the_golden_output(setup: tuple[Path, Path]) -> None:
    source, repo = setup
    apply_edits(source, SCENARIOS["image-bump"])
    for fmt, suffix in (("text", "txt"), ("markdown", "md"), ("json", "json")):
        proc = cli("diff", "prod", "--source", str(source), "--repo", str(repo), "--format", fmt, env=FIXED_GIT_ENV)
        assert proc.returncode == 0, proc.stderr
        check_golden(f"image-bump.{suffix}", proc.stdout)


def test_exit_code_flags_differences_only_when_asked(setup: tuple[Path, Path]) -> None:
    source, repo = setup
    args = ["diff", "--source", str(source), "--repo", str(repo)]
    same = cli(*args, "--exit-code")
    assert (same.returncode, same.stdout) == (0, f"env/prod: main@{_head(repo)[:10]} -> source\n  no changes\n"), same.stderr
    apply_edits(source, SCENARIOS["replicas"])
    assert cli(*args).returncode == 0
    changed = cli(*args, "--exit-code", "--format", "json")
    assert changed.returncode == 1, changed.stderr
    assert json.loads(changed.stdout)["summary"]["changed"] == 2


def test_rev_to_rev(setup: tuple[Path, Path]) -> None:
    source, repo = setup
    apply_edits(source, SCENARIOS["component-removed"])
    compile_into(source, repo, branch="review/remove-worker")
    proc = cli("diff", "--repo", str(repo), "--from", "main", "--to", "review/remove-worker", "--exit-code")
    assert proc.returncode == 1, proc.stderr
    assert "- PersistentVolumeClaim/openstack/worker-scratch" in proc.stdout
    assert proc.stdout.startswith("env/prod: main@")
    back = cli("diff", "env/prod", "--repo", str(repo), "--from", "review/remove-worker", "--to", "main", "--format", "json")
    data = json.loads(back.stdout)
    # the worker's PersistentVolumeClaim and Deployment, and its Argo CD Application
    assert data["summary"] == {"added": 3, "changed": 0, "removed": 0, "upgrades": 0, "restarts": 0, "reruns": 0, "risks": 0}
    assert cli("diff", "--repo", str(repo), "--from", "main", "--to", "main", "--exit-code").returncode == 0


def _head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "main"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "no-such-branch", "--to", "main"], "ccp-gitops: unknown revision 'no-such-branch' in env repo"),
        (["--from", "main", "--to", "main~5"], "ccp-gitops: unknown revision 'main~5' in env repo"),
        (["staging", "--from", "main", "--to", "main"], "ccp-gitops: unknown environment 'staging': no env/staging/ in main or main (found: prod)"),
        (["--to", "main"], "ccp-gitops: --to needs --from"),
        (["--format", "yaml"], "ccp-gitops: --format must be one of text, markdown, json (got 'yaml')"),
        (["--format", "markdown", "--max-bytes", "100"], "ccp-gitops: --max-bytes must be at least 2000 (got 100)"),
        (["--from", "--help-me"], "ccp-gitops: invalid revision '--help-me'"),
    ],
)
def test_bad_input_exits_2_with_one_line(setup: tuple[Path, Path], args: list[str], message: str) -> None:
    source, repo = setup
    line = one_line_error(cli("diff", *args, "--source", str(source), "--repo", str(repo)))
    assert line.startswith(message), line


def test_unknown_environment_in_source_mode(setup: tuple[Path, Path]) -> None:
    source, repo = setup
    line = one_line_error(cli("diff", "staging", "--source", str(source), "--repo", str(repo)))
    assert line == "overlays/staging/env.yaml:1:1: unknown environment 'staging' (known: prod)"


def test_missing_or_non_git_repo(setup: tuple[Path, Path], tmp_path: Path) -> None:
    source, _ = setup
    line = one_line_error(cli("diff", "--source", str(source), "--repo", str(tmp_path / "nowhere")))
    assert line == f"ccp-gitops: {tmp_path / 'nowhere'}: no env repo here (compile first, or pass --repo)"
    plain = tmp_path / "plain"
    plain.mkdir()
    line = one_line_error(cli("diff", "--source", str(source), "--repo", str(plain)))
    assert line == f"ccp-gitops: {plain}: not a git repository"


def test_bad_source_is_reported_with_its_location(setup: tuple[Path, Path]) -> None:
    source, repo = setup
    apply_edits(source, [("components/cache/templates/cache.yaml.j2", "{{ replicas.cache }}", "{{ replicas.cache ")])
    line = one_line_error(cli("diff", "--source", str(source), "--repo", str(repo)))
    assert line.startswith("components/cache/templates/cache.yaml.j2:"), line


def test_broken_yaml_in_the_env_repo_names_rev_path_line(setup: tuple[Path, Path]) -> None:
    _, repo = setup
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "checkout", "-q", "-b", "hand-edit"], check=True)
    (repo / "env/prod/cache/deployment-cache.yaml").write_text("apiVersion: apps/v1\nkind: [Deployment\n")
    subprocess.run([*git, "commit", "-qam", "break it"], check=True, env={**os.environ, **FIXED_GIT_ENV})
    line = one_line_error(cli("diff", "--repo", str(repo), "--from", "main", "--to", "hand-edit"))
    assert line.startswith("hand-edit:env/prod/cache/deployment-cache.yaml:3:1: not valid YAML"), line


def test_no_colour_when_piped_colour_on_a_terminal_unless_no_color(setup: tuple[Path, Path]) -> None:
    source, repo = setup
    apply_edits(source, SCENARIOS["replicas"])
    args = ["diff", "--source", str(source), "--repo", str(repo)]
    assert "\x1b[" not in cli(*args).stdout

    def on_terminal(extra_env: dict[str, str]) -> str:
        primary, secondary = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env.update({"TERM": "xterm-256color", "COLUMNS": "200", **extra_env})
        proc = subprocess.Popen([sys.executable, "-m", "ccp_gitops", *args], stdout=secondary, stderr=subprocess.PIPE, env=env)
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait()
        os.close(primary)
        assert proc.returncode == 0
        return b"".join(chunks).decode()

    coloured = on_terminal({})
    assert "\x1b[" in coloured and "spec.replicas: 2 -> 3" in coloured
    assert "\x1b[" not in on_terminal({"NO_COLOR": "1"})


def test_output_dir_writes_numbered_parts_and_removes_stale_ones(setup: tuple[Path, Path], tmp_path: Path) -> None:
    source, repo = setup
    apply_edits(source, SCENARIOS["release-change"])
    out = tmp_path / "comment"
    out.mkdir()
    (out / "ccp-gitops-diff-009.md").write_text("stale")
    proc = cli("diff", "--source", str(source), "--repo", str(repo), "--format", "markdown", "--max-bytes", "2000", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    files = sorted(out.iterdir())
    assert proc.stdout.splitlines() == [str(f) for f in files]
    assert len(files) > 1 and all(f.name.startswith("ccp-gitops-diff-") for f in files)
    for index, path in enumerate(files, 1):
        data = path.read_bytes()
        assert len(data) <= 2000
        assert data.decode().startswith(f"<!-- ccp-gitops-diff part {index}/{len(files)} -->\n")


def test_help_has_examples() -> None:
    proc = cli("diff", "--help")
    assert proc.returncode == 0
    assert proc.stdout.count("Example: ccp-gitops diff") >= 3


def test_bundled_prod_catalogue_against_its_own_compile_reports_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "env-repo"
    compile_proc = cli("compile", "env/prod", "--source", str(ROOT), "--repo", str(repo))
    assert compile_proc.returncode == 0, compile_proc.stderr
    proc = cli("diff", "env/prod", "--source", str(ROOT), "--repo", str(repo), "--exit-code")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith("  no changes\n")
    data = json.loads(cli("diff", "env/prod", "--source", str(ROOT), "--repo", str(repo), "--format", "json").stdout)
    assert data["summary"] == {"added": 0, "changed": 0, "removed": 0, "upgrades": 0, "restarts": 0, "reruns": 0, "risks": 0}
    assert data["resources"] == [] and data["environments"][0]["from"]["exists"] is True


def test_secret_values_never_appear_in_any_format(setup: tuple[Path, Path]) -> None:
    """A hand-committed Secret with data and an ExternalSecret template change: said to change, never shown."""
    source, repo = setup
    git = ["git", "-C", str(repo)]
    env = {**os.environ, **FIXED_GIT_ENV}
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy\n  namespace: openstack\ndata:\n  password: {value}\nstringData:\n  token: {token}\n"
    path = repo / "env/prod/api/secret-legacy.yaml"
    subprocess.run([*git, "checkout", "-q", "-b", "with-secret"], check=True)
    path.write_text(secret.format(value="b2xkLXNlY3JldA==", token="old-token-value"))
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "legacy secret"], check=True, env=env)
    apply_edits(source, SCENARIOS["secret-change"])
    compile_into(source, repo, branch="rotated")  # from main: a compile replaces env/prod/ as a whole
    subprocess.run([*git, "checkout", "-q", "rotated"], check=True)
    path.write_text(secret.format(value="bmV3LXNlY3JldA==", token="new-token-value"))
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "rotate"], check=True, env=env)
    for fmt in ("text", "markdown", "json"):
        out = cli("diff", "--repo", str(repo), "--from", "with-secret", "--to", "rotated", "--format", fmt).stdout
        for value in ("b2xkLXNlY3JldA==", "bmV3LXNlY3JldA==", "old-token-value", "new-token-value", "db-primary", "db.openstack.svc", "{{ .password }}"):
            assert value not in out, (fmt, value)
        assert "redacted" in out
    data = json.loads(cli("diff", "--repo", str(repo), "--from", "with-secret", "--to", "rotated", "--format", "json").stdout)
    fields = {f["path"]: f for r in data["resources"] for f in r["fields"]}
    assert fields["data.password"] == {"path": "data.password", "op": "change", "redacted": True}
    assert fields["stringData.token"] == {"path": "stringData.token", "op": "change", "redacted": True}


def test_a_missing_branch_means_everything_is_added(tmp_path: Path) -> None:
    source = copy_source(tmp_path / "source")
    repo = tmp_path / "env-repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    proc = cli("diff", "--source", str(source), "--repo", str(repo), "--format", "json", "--exit-code")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["environments"][0]["from"] == {
        "kind": "rev", "rev": "main", "commit": None, "exists": False, "source_commit": None, "compiler_version": None, "openstack_release": None,
    }
    # 15 component objects, plus Argo CD delivery: 4 Applications, the root one, 2 AppProjects, argocd-cm
    assert data["summary"]["added"] == 15 + 8 and data["summary"]["changed"] == 0
    assert [r["job"] for r in data["reruns"]] == ["api-db-sync"] and data["reruns"][0]["replaces"] is None
    text = cli("diff", "--source", str(source), "--repo", str(repo)).stdout
    assert text.startswith("env/prod: main (no such branch) -> source\n")


def test_objects_outside_component_folders_use_their_own_sync_wave(setup: tuple[Path, Path]) -> None:
    """Delivery objects (Argo CD Applications) are keyed and ordered like any other object."""
    _, repo = setup
    git = ["git", "-C", str(repo)]
    app = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: api
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
spec:
  project: openstack
  destination: {{server: https://kubernetes.default.svc, namespace: openstack}}
  source: {{repoURL: https://git.example.com/env.git, path: env/prod/api, targetRevision: main}}
"""
    folder = repo / "env/prod/delivery/argocd"  # compile wrote the real Applications here
    (folder / "application-api.yaml").write_text(app.format(wave=1))
    kustomization = folder / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n- application-api.yaml\n"))
    subprocess.run([*git, "checkout", "-q", "-b", "delivery"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "delivery"], check=True, env={**os.environ, **FIXED_GIT_ENV})
    added = json.loads(cli("diff", "--repo", str(repo), "--from", "main", "--to", "delivery", "--format", "json").stdout)
    assert [(r["id"], r["component"], r["wave"], r["change"]) for r in added["resources"]] == [
        ("Application.argoproj.io/argocd/api", "delivery", 1, "added")
    ]
    (folder / "application-api.yaml").write_text(app.format(wave=3))
    subprocess.run([*git, "commit", "-qam", "later wave"], check=True, env={**os.environ, **FIXED_GIT_ENV})
    changed = json.loads(cli("diff", "--repo", str(repo), "--from", "delivery~1", "--to", "delivery", "--format", "json").stdout)
    assert changed["resources"][0]["fields"] == [
        {"path": 'metadata.annotations["argocd.argoproj.io/sync-wave"]', "op": "change", "old": "1", "new": "3"}
    ]
    assert changed["resources"][0]["wave"] == 3
