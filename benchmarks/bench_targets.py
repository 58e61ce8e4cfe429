"""Benchmark (not a test): the rows of issue 16's table, each next to `kubectl kustomize` in the same run.

Rows (cold = an empty $CCP_CACHE; ratio = ccp-gitops / kustomize of the produced tree(s)):

  cold compile     `compile env/prod --crds ../shared/crds`, empty cache, new env repo
  cold diff        `diff env/prod` after a release change (2026.1 -> 2026.2), empty cache
  fleet --jobs 1   100 environments extending prod in one `compile`, empty cache
  fleet --jobs 2   the same with two processes
  warm compile     env/prod into a fresh env repo, the cache of a compile before
  no-op            the same compile again (process start included; seconds, no ratio)
  peak memory      largest process of the 100-environment compile
  Kapitan          100 Kapitan 0.36 targets writing the same files per target from Jinja2
                   templates (no validation, no git), `kapitan compile -p 1`, against the
                   100-environment `--jobs 1` compile (ratio = ccp-gitops / Kapitan)

Kapitan comes from ~/.cache/ccp-gitops/kapitan-0.36 (`--install-kapitan` makes it; without it
the row says it was skipped).

    .venv/bin/python benchmarks/bench_targets.py [--runs N] [--fleet 100] [--install-kapitan]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import CRDS, Timing, byte_compiled, ccp, kustomize_command, timed  # noqa: E402
from fleet import fleet_site, prod_site  # noqa: E402

KAPITAN_VENV = Path.home() / ".cache" / "ccp-gitops" / "kapitan-0.36"


def median(values: list[float]) -> float:
    return statistics.median(values)


def walls(samples: list[Timing]) -> float:
    return median([t.wall for t in samples])


def cpus(samples: list[Timing]) -> float:
    return median([t.cpu for t in samples])


def kustomize_trees(repo: Path, names: list[str], env: dict[str, str]) -> Timing:
    runs = [timed([*kustomize_command(), str(repo / "env" / name)], env) for name in names]
    return Timing(sum(t.wall for t in runs), sum(t.cpu for t in runs), max(t.rss_kb for t in runs))


def crd_args() -> list[str]:
    return ["--crds", str(CRDS)] if CRDS.is_dir() else []


def row(label: str, ours: list[Timing], theirs: list[Timing], target: float) -> str:
    """A table row: wall times and their ratio (the target's measure), and the CPU ratio, steadier under load."""
    a, b = walls(ours), walls(theirs)
    mark = "met" if a <= target * b else "missed"
    return (f"| {label} | {a:.2f} s | {b:.2f} s | {a / b:.2f}x | {cpus(ours) / cpus(theirs):.2f}x "
            f"({cpus(ours):.2f} / {cpus(theirs):.2f} s) | <= {target}x | {mark} |")


def prod_rows(work: Path, runs: int, env: dict[str, str]) -> list[str]:
    site = work / "prod-site"
    names = prod_site(site)
    cold: list[Timing] = []
    cold_k: list[Timing] = []
    diff: list[Timing] = []
    diff_k: list[Timing] = []
    warm: list[Timing] = []
    warm_k: list[Timing] = []
    noop: list[Timing] = []
    for run in range(runs):
        cache, repo = work / f"prod-cache-{run}", work / f"prod-repo-{run}"
        compile_args = ["compile", "prod", "--source", str(site), *crd_args()]
        cold.append(timed(ccp(*compile_args, "--repo", str(repo)), {**env, "CCP_CACHE": str(cache)}))
        cold_k.append(kustomize_trees(repo, names, env))
        noop.append(timed(ccp(*compile_args, "--repo", str(repo)), {**env, "CCP_CACHE": str(cache)}))
        fresh = work / f"prod-fresh-{run}"
        warm.append(timed(ccp(*compile_args, "--repo", str(fresh)), {**env, "CCP_CACHE": str(cache)}))
        warm_k.append(kustomize_trees(fresh, names, env))
        overlay = site / "overlays/prod/env.yaml"
        text = overlay.read_text()
        overlay.write_text(text.replace("namespace: openstack\n", 'namespace: openstack\nopenstack_release: "2026.2"\n', 1))
        diff_args = ["diff", "prod", "--source", str(site), "--repo", str(repo)]
        diff.append(timed(ccp(*diff_args), {**env, "CCP_CACHE": str(work / f"diff-cache-{run}")}, ok=(0, 1)))
        diff_k.append(kustomize_trees(repo, names, env))
        overlay.write_text(text)
    return [
        row("`compile env/prod`, empty cache, CRDs given", cold, cold_k, 1.5),
        row("`diff env/prod` of a release change, empty cache", diff, diff_k, 1.0),
        row("warm compile of env/prod into a fresh repo", warm, warm_k, 0.5),
        f"| no-op recompile (process start included) | {walls(noop):.2f} s | | | ({cpus(noop):.2f} s CPU) | < 0.15 s | "
        f"{'met' if walls(noop) < 0.15 else 'missed'} |",
    ]


def fleet_rows(work: Path, size: int, runs: int, env: dict[str, str]) -> tuple[list[str], list[Timing], Path, list[str]]:
    site = work / "fleet-site"
    names = ["prod", *fleet_site(site, size)]
    regions = names[1:]
    lines: list[str] = []
    times_jobs1: list[Timing] = []
    peak_kb = 0
    repo = work / "fleet-repo-1-0"
    for jobs, target in ((1, 0.3), (2, 0.2)):
        ours: list[Timing] = []
        theirs: list[Timing] = []
        for run in range(runs):
            repo_run = work / f"fleet-repo-{jobs}-{run}"
            args = ccp("compile", *regions, "--source", str(site), *crd_args(), "--jobs", str(jobs), "--repo", str(repo_run))
            sample = timed(args, {**env, "CCP_CACHE": str(work / f"fleet-cache-{jobs}-{run}")})
            ours.append(sample)
            peak_kb = max(peak_kb, sample.rss_kb)
            theirs.append(kustomize_trees(repo_run, regions, env))
        if jobs == 1:
            times_jobs1 = ours
        lines.append(row(f"{size} environments extending prod, one `compile`, `--jobs {jobs}`", ours, theirs, target))
    mb = peak_kb / 1024
    lines.append(f"| peak memory, {size} environments (largest process) | {mb:.0f} MB | | | | < 150 MB | {'met' if mb < 150 else 'missed'} |")
    return lines, times_jobs1, repo, regions


def kapitan_project(dest: Path, repo: Path, names: list[str]) -> int:
    """A Kapitan project: one target per environment, rendering the files of one compiled environment
    tree as Jinja2 templates (the region-specific strings replaced by inventory parameters)."""
    first = names[0]
    templates = dest / "templates"
    count = 0
    for path in sorted((repo / "env" / first).rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(repo / "env" / first)
        text = path.read_text()
        for opener in ("{{", "{%", "{#"):  # literal Jinja2 openers in the output (Go templates, ...) stay text
            text = text.replace(opener, "\0" + opener[1])
        text = text.replace("\0{", "{{ '{{' }}").replace("\0%", "{{ '{%' }}").replace("\0#", "{{ '{#' }}")
        text = text.replace(first.upper(), "{{ inventory.parameters.region }}").replace(first, "{{ inventory.parameters.name }}")
        out = templates / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        count += 1
    (dest / "inventory/classes").mkdir(parents=True)
    (dest / "inventory/targets").mkdir(parents=True)
    (dest / "inventory/classes/fleet.yml").write_text(
        "parameters:\n  kapitan:\n    compile:\n      - output_path: .\n        input_type: jinja2\n        input_paths:\n          - templates/\n"
    )
    for name in names:
        (dest / f"inventory/targets/{name}.yml").write_text(
            f"classes:\n  - fleet\nparameters:\n  name: {name}\n  region: {name.upper()}\n  kapitan:\n    vars:\n      target: {name}\n"
        )
    return count


def kapitan_row(work: Path, repo: Path, names: list[str], ours: list[Timing], runs: int, env: dict[str, str]) -> str:
    kapitan = KAPITAN_VENV / "bin" / "kapitan"
    if not kapitan.exists():
        return "| Kapitan 0.36, 100 targets, `-p 1` | | | | | <= 0.5x | skipped (run with --install-kapitan) |"
    project = work / "kapitan"
    files = kapitan_project(project, repo, names)
    theirs: list[Timing] = []
    for _ in range(runs):
        shutil.rmtree(project / "compiled", ignore_errors=True)
        theirs.append(timed(
            [str(kapitan), "compile", "-p", "1", "--inventory-path", str(project / "inventory"), "--output-path", str(project),
             "--search-paths", str(project)],
            {**env, "HOME": str(work)},
        ))
    produced = sum(1 for p in (project / "compiled" / names[0]).rglob("*") if p.is_file())
    a, b = walls(ours), walls(theirs)
    return (f"| Kapitan 0.36: {len(names)} targets x {files} files from Jinja2 templates, `-p 1` (ccp-gitops `--jobs 1`) | "
            f"{a:.2f} s | {b:.2f} s (Kapitan, {produced} files/target) | {a / b:.2f}x | {cpus(ours) / cpus(theirs):.2f}x | "
            f"<= 0.5x | {'met' if a <= 0.5 * b else 'missed'} |")


def install_kapitan() -> None:
    if (KAPITAN_VENV / "bin" / "kapitan").exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(KAPITAN_VENV)], check=True)
    subprocess.run([str(KAPITAN_VENV / "bin" / "pip"), "install", "--quiet", "kapitan==0.36.*"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the fleet rows: at most 2)")
    parser.add_argument("--fleet", type=int, default=100, help="environments in the fleet rows")
    parser.add_argument("--install-kapitan", action="store_true", help="install Kapitan 0.36 into ~/.cache/ccp-gitops first")
    args = parser.parse_args()
    if args.install_kapitan:
        install_kapitan()
    started = time.perf_counter()
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("CCP_CACHE", None)
    byte_compiled()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ccp-bench-targets-") as tmp:
        work = Path(tmp)
        lines = prod_rows(work, args.runs, env)
        fleet_lines, fleet_times, repo, regions = fleet_rows(work, args.fleet, min(args.runs, 2), env)
        lines += fleet_lines
        lines.append(kapitan_row(work, repo, regions, fleet_times, min(args.runs, 2), env))
    load_after = os.getloadavg()
    print(f"issue 16 targets: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"kustomize: {' '.join(kustomize_command())}; medians of {args.runs} runs (fleet rows: {min(args.runs, 2)})")
    print()
    print("| row | ccp-gitops | kustomize (same run) | ratio | CPU ratio (CPU s) | target | |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
