"""graph: the component dependency graph by wave as mermaid, dot (golden), SVG through real Graphviz, JSON."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .ux_support import FIXTURE, assert_one_located_error, check_golden, run

SVG = "{http://www.w3.org/2000/svg}"


def test_dot_golden() -> None:
    proc = run("graph", "child", "--format", "dot", "--source", str(FIXTURE))
    assert proc.returncode == 0, proc.stderr
    check_golden("graph/child.dot", proc.stdout)


def test_mermaid_is_what_the_environment_readme_shows() -> None:
    proc = run("graph", "env/child", "--source", str(FIXTURE))
    assert proc.returncode == 0, proc.stderr
    [compiled] = compile_all(FIXTURE, ["child"], check=False)
    readme = compiled.tree.files["env/child/README.md"].decode()
    assert f"```mermaid\n{proc.stdout}```" in readme


def test_json() -> None:
    proc = run("graph", "child", "--format", "json", "--source", str(FIXTURE))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["waves"] == {"0": ["cache", "db"], "1": ["web"]}
    assert data["components"]["web"] == {"version": "2.0.0", "wave": 1, "depends_on": ["cache", "db"]}


def test_svg_through_graphviz(tmp_path: Path) -> None:
    assert shutil.which("dot"), "Graphviz is part of the test set-up (scripts/ux-deps.mk)"
    out = tmp_path / "child.svg"
    proc = run("graph", "child", "--format", "svg", "--output", str(out), "--source", str(FIXTURE))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stderr
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    titles = {t.text for t in root.iter(f"{SVG}title")}
    assert {"cache", "db", "web", "cluster_wave0", "cluster_wave1", "db->web", "cache->web"} <= titles
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"wave 0", "wave 1", "web", "2.0.0"} <= texts
    # to standard output too, the same bytes
    assert run("graph", "child", "--format", "svg", "--source", str(FIXTURE)).stdout == out.read_text()


def test_svg_without_graphviz_says_what_to_install(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # git (GitPython needs it), no dot
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    proc = run("graph", "child", "--format", "svg", "--source", str(FIXTURE), env={"PATH": str(bin_dir)})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("ccp-gitops: --format svg needs the `dot` program of Graphviz, which is not on PATH")
    assert "apt-get install graphviz" in proc.stderr and proc.stdout == ""


def test_bundled_catalogue_prod() -> None:
    proc = run("graph", "prod", "--format", "dot")
    assert proc.returncode == 0, proc.stderr
    assert '"mariadb" -> "keystone";' in proc.stdout and "subgraph cluster_wave0" in proc.stdout


def test_unknown_environment() -> None:
    proc = run("graph", "chlid", "--source", str(FIXTURE))
    assert_one_located_error(proc, "overlays:1:1:", "unknown environment 'chlid'", "did you mean 'child'?")


def test_unknown_format() -> None:
    proc = run("graph", "child", "--format", "png", "--source", str(FIXTURE))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'png' is not one of 'mermaid', 'dot', 'svg', 'json'" in proc.stderr
