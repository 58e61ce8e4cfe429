"""Graph: the component dependency graph of one environment with its waves, as mermaid, dot, SVG or JSON."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from ccp_gitops.compile.layout import mermaid_waves
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.errors import CcpError

DOT_TIMEOUT_SECONDS = 60


class GraphvizMissing(CcpError):
    """The ``dot`` program of Graphviz is not on PATH."""


class GraphvizFailed(CcpError):
    """``dot`` ran and failed."""


def mermaid(env: Environment) -> str:
    """The flowchart the environment README carries: one subgraph per wave."""
    return mermaid_waves(env) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _quote(text: str) -> str:
    return f'"{_escape(text)}"'


def dot(env: Environment) -> str:
    """Graphviz dot: one cluster per wave (left to right), an edge from each dependency to its dependant."""
    lines = [
        f"digraph {_quote('env/' + env.name)} {{",
        "  rankdir=LR;",
        "  newrank=true;",
        f"  label={_quote(f'env/{env.name}: components by wave (a component is applied after its dependencies)')};",
        "  labelloc=t;",
        '  fontname="Helvetica";',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
        '  edge [color="#55606e"];',
    ]
    for wave, names in env.waves().items():
        lines.append(f"  subgraph cluster_wave{wave} {{")
        lines.append(f"    label={_quote(f'wave {wave}')};")
        lines.append('    style="rounded,dashed";')
        for name in names:
            version = env.components[name].version
            lines.append(f'    {_quote(name)} [label="{_escape(name)}\\n{_escape(version)}"];')
        lines.append("  }")
    for comp in sorted(env.components.values(), key=lambda c: c.name):
        for dep in sorted(comp.depends_on):
            lines.append(f"  {_quote(dep)} -> {_quote(comp.name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def as_json(env: Environment) -> dict[str, Any]:
    """The graph as data: components with version, wave and dependencies, and the waves."""
    return {
        "environment": env.name,
        "overlays": list(env.chain),
        "waves": {str(wave): names for wave, names in env.waves().items()},
        "components": {
            name: {"version": comp.version, "wave": comp.wave, "depends_on": sorted(comp.depends_on)}
            for name, comp in sorted(env.components.items())
        },
    }


def svg(dot_text: str, program: str = "dot") -> bytes:
    """Lay the dot graph out as SVG with Graphviz; GraphvizMissing when ``dot`` is not installed."""
    found = shutil.which(program)
    if found is None:
        raise GraphvizMissing(
            f"--format svg needs the `{program}` program of Graphviz, which is not on PATH: install it "
            "(apt-get install graphviz, dnf install graphviz, brew install graphviz) "
            "or use --format dot and render it elsewhere"
        )
    try:
        proc = subprocess.run([found, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=DOT_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizFailed(f"{program} -Tsvg failed: {exc}") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GraphvizFailed(f"{program} -Tsvg failed: {detail[0] if detail else f'exit {proc.returncode}'}")
    return proc.stdout
