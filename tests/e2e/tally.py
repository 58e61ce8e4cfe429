"""`python -m tests.e2e.tally JUNIT.xml`: print the run's closing line, `N passed, M failed`."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def tally(path: str) -> tuple[int, int]:
    """Passed and failed (errors included) test cases of a JUnit XML report; skips count as failed."""
    passed = failed = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        if any(child.tag in ("failure", "error", "skipped") for child in case):
            failed += 1
        else:
            passed += 1
    return passed, failed


if __name__ == "__main__":
    ok, bad = tally(sys.argv[1])
    print(f"{ok} passed, {bad} failed")
    sys.exit(1 if bad or not ok else 0)
