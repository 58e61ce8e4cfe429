"""`python -m tests.e2e ENV_REPO ENV --engine argocd|flux`: run an environment until healthy, then stop it."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from tests.e2e.network import private_network
from tests.e2e.objects import RunError
from tests.e2e.runner import Options, Run


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run, print per pod what happened, exit 0 when every unit became healthy, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m tests.e2e", description=__doc__)
    parser.add_argument("repo", type=Path)
    parser.add_argument("env")
    parser.add_argument("--engine", choices=["argocd", "flux"], default="argocd")
    parser.add_argument("--only", help="comma-separated components (default: all)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    scratch = Path(tempfile.mkdtemp(prefix="ccp-e2e-"))
    only = set(args.only.split(",")) if args.only else None
    try:
        with private_network(), Run(Options(args.repo, args.env, args.engine, scratch, only, args.timeout,
                                            report=lambda s: print(s, flush=True))) as run:
            try:
                run.run()
            finally:
                print("\n".join(run.summary()))
        return 0
    except RunError as exc:
        print(f"e2e: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("e2e: interrupted; everything stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
