"""Benchmark (not a test): ccp-gitops against kustomize on synthetic fleets; prints a table.

For the bundled env/prod, fleets of 1, 10 and 100 regions that extend prod with small
differences (a site repository over the bundled catalogue, see fleet.py), and one environment
with a stress component of 1,000 objects, it measures, as child processes (wall time, peak
RSS of the largest process):

  cold      compile into a new env repo with an empty cache
  no-op     the same compile again (nothing changed)
  change    compile after one option change in one environment
  diff      `ccp-gitops diff` of those environments after one more option change
  validate  `ccp-gitops validate` of those environments
  kustomize `kubectl kustomize` (or `kustomize build`) of every produced environment tree, one
            after another; the ratio column is ccp-gitops / kustomize

Each figure is the median of several runs (--runs, fewer for the 100-region fleet).

    .venv/bin/python benchmarks/bench.py [--runs N] [--sizes 1,10,100] [--jobs N] [--no-stress]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import STRESS_OBJECTS, fleet_site, prod_site, set_option, stress_site  # noqa: E402

CRDS = ROOT.parent / "shared" / "crds"


@dataclass
class Sample:
    wall: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    def add(self, wall: float, rss_kb: int) -> None:
        self.wall.append(wall)
        self.rss_kb.append(rss_kb)

    @property
    def seconds(self) -> float:
        return statistics.median(self.wall)

    @property
    def mb(self) -> float:
        return max(self.rss_kb) / 1024


@dataclass(frozen=True)
class Timing:
    """One child process tree: wall seconds, CPU seconds (user + system, waited-for children included), peak RSS."""

    wall: float
    cpu: float
    rss_kb: int


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> Timing:
    """Run ``cmd``; its wall time, CPU time and the peak RSS in KiB of the largest process of its tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in ok:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return Timing(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def measured(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Run ``cmd``; (wall seconds, peak RSS in KiB of the largest process of its tree)."""
    t = timed(cmd, env, ok)
    return t.wall, t.rss_kb


def byte_compiled() -> None:
    """Byte-compile the package as a wheel install leaves it (an editable install's hook does too; this
    catches sources edited since): with PYTHONDONTWRITEBYTECODE set, every process would compile them again."""
    compileall.compile_dir(str(ROOT / "ccp_gitops"), quiet=1)


def kustomize_command() -> list[str]:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise SystemExit("neither kustomize nor kubectl is on PATH")


@dataclass
class Case:
    """One fleet: its site, environments and the option change to make."""

    label: str
    site: Path
    envs: list[str]
    runs: int
    rows: dict[str, Sample] = field(default_factory=dict)
    objects: int = 0


def ccp(*args: str) -> list[str]:
    return [sys.executable, "-m", "ccp_gitops", *args]


def crd_args() -> list[str]:
    return ["--crds", str(CRDS)] if CRDS.is_dir() else []


def run_case(case: Case, work: Path, jobs: int, base_env: dict[str, str]) -> None:
    compile_args = ["compile", *case.envs, "--source", str(case.site), *crd_args(), "--jobs", str(jobs)]
    rows = case.rows = {name: Sample() for name in ("cold", "no-op", "change", "diff", "validate", "kustomize")}
    value = 10
    for run in range(case.runs):
        repo, cache = work / f"repo-{run}", work / f"cache-{run}"
        env = {**base_env, "CCP_CACHE": str(cache)}
        set_option(case.site, case.envs[0], value)
        rows["cold"].add(*measured(ccp(*compile_args, "--repo", str(repo)), env))
        rows["no-op"].add(*measured(ccp(*compile_args, "--repo", str(repo)), env))
        value += 1
        set_option(case.site, case.envs[0], value)
        rows["change"].add(*measured(ccp(*compile_args, "--repo", str(repo)), env))
        value += 1
        set_option(case.site, case.envs[0], value)  # uncommitted: diff shows it
        diff_args = ["diff", *case.envs, "--source", str(case.site), "--repo", str(repo), "--jobs", str(jobs)]
        measured(ccp(*diff_args), env)  # the first diff after a change renders it once
        rows["diff"].add(*measured(ccp(*diff_args), env))
        validate_args = ["validate", *case.envs, "--source", str(case.site), *crd_args(), "--jobs", str(jobs)]
        rows["validate"].add(*measured(ccp(*validate_args), env))
        total, peak = 0.0, 0
        for name in case.envs:
            wall, rss = measured([*kustomize_command(), str(repo / "env" / name)], base_env)
            total, peak = total + wall, max(peak, rss)
        rows["kustomize"].add(total, peak)
        if not case.objects:
            case.objects = sum(1 for p in (repo / "env" / case.envs[0]).rglob("*") if p.is_file())
    # removed only now: deleting tens of thousands of files slows the disk for a while


def table(cases: list[Case], jobs: int) -> str:
    ops = ("cold", "no-op", "change", "diff", "validate")
    head = f"| fleet | envs | files/env | {' | '.join(ops)} | kustomize | peak MB (cold) |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for case in cases:
        k = case.rows["kustomize"].seconds
        cells = [f"{case.rows[op].seconds:.2f} s ({case.rows[op].seconds / k:.2f}x)" for op in ops]
        lines.append(
            f"| {case.label} | {len(case.envs)} | {case.objects} | {' | '.join(cells)} | {k:.2f} s | {case.rows['cold'].mb:.0f} |"
        )
    return "\n".join(lines)


def verdicts(cases: list[Case], help_seconds: float) -> list[str]:
    """The targets of issue 7, each with its figure and whether it is met."""
    out = []

    def line(ok: bool, text: str) -> None:
        out.append(f"- [{'x' if ok else ' '}] {text}")

    by_label = {case.label: case for case in cases}
    prod = by_label.get("bundled env/prod")
    if prod is not None:
        k = prod.rows["kustomize"].seconds
        for op, what in (("change", "a compile that commits a change"), ("cold", "a first compile with an empty cache")):
            t = prod.rows[op].seconds
            line(t <= 1.5 * k, f"env/prod, {what}: {t:.2f} s = {t / k:.2f}x one kustomize build ({k:.2f} s); target 1.5x")
        noop = prod.rows["no-op"].seconds
        line(noop < 0.3, f"no-op recompile of env/prod: {noop:.2f} s; target 0.3 s")
        diff = prod.rows["diff"].seconds
        line(diff < 0.5, f"diff of env/prod: {diff:.2f} s; target 0.5 s")
    line(help_seconds < 0.15, f"ccp-gitops --help: {help_seconds:.2f} s; target 0.15 s")
    fleet = by_label.get("100 regions")
    if fleet is not None:
        k = fleet.rows["kustomize"].seconds
        for op in ("cold", "change"):
            t = fleet.rows[op].seconds
            line(t <= 0.3 * k, f"100 environments, {op} compile: {t:.2f} s = {t / k:.2f}x kustomize over the 100 trees ({k:.2f} s); target 0.3x")
        line(fleet.rows["cold"].mb < 300, f"100 environments, peak memory: {fleet.rows['cold'].mb:.0f} MB; target 300 MB")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (the 100-region fleet: at most 3)")
    parser.add_argument("--sizes", default="1,10,100", help="fleet sizes (regions extending prod)")
    parser.add_argument("--jobs", type=int, default=0, help="ccp-gitops --jobs (0: one per CPU)")
    parser.add_argument("--no-stress", action="store_true", help="skip the 1,000-object environment")
    args = parser.parse_args()
    started = time.perf_counter()
    base_env = {**os.environ, "NO_COLOR": "1"}
    byte_compiled()
    with tempfile.TemporaryDirectory(prefix="ccp-bench-") as tmp:
        work = Path(tmp)
        cases: list[Case] = []
        prod = work / "prod"
        cases.append(Case("bundled env/prod", prod, prod_site(prod), args.runs))
        for size in (int(s) for s in args.sizes.split(",") if s):
            site = work / f"fleet-{size}"
            cases.append(Case(f"{size} regions", site, fleet_site(site, size), min(args.runs, 3) if size >= 100 else args.runs))
        if not args.no_stress:
            stress = work / "stress"
            cases.append(Case(f"prod + {STRESS_OBJECTS} objects", stress, stress_site(stress), args.runs))
        for case in cases:
            case_work = work / f"run-{len(case.envs)}-{case.site.name}"
            case_work.mkdir()
            began = time.perf_counter()
            run_case(case, case_work, args.jobs, base_env)
            print(f"  {case.label}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
        help_sample = Sample()
        for _ in range(args.runs):
            help_sample.add(*measured([str(Path(sys.executable).parent / "ccp-gitops"), "--help"], base_env))
    load = os.getloadavg()
    print(f"ccp-gitops benchmark: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"--jobs {args.jobs or os.cpu_count()}, kustomize: {' '.join(kustomize_command())}, median of {args.runs} runs "
          f"(the 100-region fleet: {min(args.runs, 3)})")
    print()
    print(table(cases, args.jobs))
    print()
    print("Targets:")
    print("\n".join(verdicts(cases, help_sample.seconds)))
    print()
    print(f"`ccp-gitops --help`: {help_sample.seconds:.2f} s. Peak MB: the largest single process (with --jobs, each worker).")
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
