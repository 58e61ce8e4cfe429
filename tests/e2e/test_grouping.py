"""The tests on the one running cloud share one xdist worker, hence one bring-up (--dist loadgroup).

pytest-xdist's loadgroup stops grouping silently on some pytest releases (pytest-dev/pytest-xdist#1386,
pytest 9.2): every worker would then bring the whole cloud up for itself. This runs pytest the way
`make test` does on a few grouped tests, parametrized like the smoke checks, and asserts they ran on
one worker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = '''
import os
import pytest

pytestmark = pytest.mark.xdist_group("e2e-cloud")


@pytest.fixture(params=["admin", "member"])
def who(request):
    return request.param


@pytest.mark.parametrize("n", range(3))
def test_grouped(who, n):
    with open(os.environ["WHERE"], "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")


@pytest.mark.parametrize("n", range(4))
def test_free(n):
    pass
'''


def test_grouped_tests_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(TESTS)
    where = tmp_path / "where"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
                           "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, env={"WHERE": str(where), "PATH": "/usr/bin:/bin"},
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    workers = where.read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
