"""Benchmark (not a test): time `ccp-gitops diff` of the bundled prod catalogue against its own compile.

Compiles env/prod into a temporary env repo, then times the diff (median of several runs, with
a warm disk cache as after any compile): in-process (compile of the source + read of the branch +
comparison), as a CLI process, and a worst case where every file differs (an empty revision
against the compile: every object parsed). `benchmarks/bench.py` has the fleet figures.

    .venv/bin/python benchmarks/bench_diff.py [--runs N] [--env prod] [--source DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ccp_gitops.cache.disk import open_cache  # noqa: E402
from ccp_gitops.compile.parallel import compile_all  # noqa: E402
from ccp_gitops.compile.spec import SessionSpec  # noqa: E402
from ccp_gitops.diff.compare import diff_revs, diff_source  # noqa: E402
from ccp_gitops.diff.render.json import render_json  # noqa: E402
from ccp_gitops.diff.render.text import render_text  # noqa: E402
from ccp_gitops.repo.write import WriteOptions, run_compile  # noqa: E402

TARGET_SECONDS = 0.5


def median_time(action: object, runs: int) -> float:
    assert callable(action)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--source", type=Path, default=ROOT, help="source tree (default: the bundled catalogue)")
    args = parser.parse_args()
    source = args.source.resolve()
    with tempfile.TemporaryDirectory(prefix="ccp-bench-") as tmp:
        repo = Path(tmp) / "env-repo"
        cache = open_cache(Path(tmp) / "cache")
        run_compile(SessionSpec(source, cache=cache), [args.env], WriteOptions(repo))
        compiled = compile_all(source, [args.env], cache=cache)[0]
        empty = subprocess.run(
            ["git", "-C", str(repo), "commit-tree", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "-m", "empty"],
            check=True, capture_output=True, text=True, env={**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"},
        ).stdout.strip()
        objects, files = len(compiled.objects), len(compiled.tree.files)

        def diff_once() -> None:
            report = diff_source(SessionSpec(source, cache=cache), [args.env], repo)
            assert report.empty, render_text(report)
            render_json(report)

        diff_once()  # warm caches (schemas, templates on disk)
        compile_only = median_time(lambda: compile_all(source, [args.env], cache=cache), args.runs)
        worst = median_time(lambda: render_json(diff_revs(repo, empty, "main", [args.env])), args.runs)
        in_process = median_time(diff_once, args.runs)
        cmd = [sys.executable, "-m", "ccp_gitops", "diff", args.env, "--source", str(source), "--repo", str(repo), "--exit-code"]
        env = {**os.environ, "NO_COLOR": "1", "CCP_CACHE": str(Path(tmp) / "cache")}

        def cli_once() -> None:
            subprocess.run(cmd, check=True, capture_output=True, env=env)

        cli = median_time(cli_once, args.runs)
    print(f"env/{args.env}: {len(compiled.env.components)} components, {objects} objects, {files} files; median of {args.runs} runs")
    print(f"  compile only (in process, cached):  {compile_only * 1000:7.1f} ms")
    print(f"  diff vs own compile (in process):   {in_process * 1000:7.1f} ms  (compile + read branch + compare)")
    print(f"  worst case, every object differs:   {worst * 1000:7.1f} ms  (rev vs rev: read + parse + compare all)")
    print(f"  ccp-gitops diff --exit-code (CLI):  {cli * 1000:7.1f} ms  (includes interpreter start-up and imports)")
    verdict = "OK" if cli < TARGET_SECONDS else "SLOWER THAN TARGET"
    print(f"  target < {TARGET_SECONDS:.1f} s for `ccp-gitops diff`: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
