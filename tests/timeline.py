"""Where a run's time goes, per test process: with TESSERA_TEST_TIMELINE=<file> set, every
test process (each pytest-xdist worker) appends one tab-separated line per test phase to
that file: worker, start and end (seconds since the epoch), phase (setup/call/teardown),
outcome and the test's id. `python tests/timeline.py <file>` summarises it: each worker's
busy time and span, the browser tests' share, and the slowest files. Off (nothing loaded
beyond this module) when the variable is unset. Loaded by tests/conftest.py."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

TIMELINE = os.environ.get("TESSERA_TEST_TIMELINE")
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_starts: dict[tuple[str, str], float] = {}


if TIMELINE:

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(item):
        _starts[(item.nodeid, "setup")] = time.time()
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        _starts[(item.nodeid, "call")] = time.time()
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(item):
        _starts[(item.nodeid, "teardown")] = time.time()
        yield

    def pytest_runtest_logreport(report) -> None:
        # Only test processes write (the xdist controller also receives every report).
        started = _starts.pop((report.nodeid, report.when), None)
        if started is None:
            return
        line = f"{_WORKER}\t{started:.3f}\t{time.time():.3f}\t{report.when}\t{report.outcome}\t{report.nodeid}\n"
        with Path(TIMELINE).open("a") as handle:
            handle.write(line)


def summarise(path: str) -> str:
    lines: list[str] = []
    rows = []
    for line in Path(path).read_text().splitlines():
        worker, start, end, when, _outcome, nodeid = line.split("\t", 5)
        rows.append((worker, float(start), float(end), when, nodeid.split("@")[0]))
    if not rows:
        return "no tests recorded"
    first, last = min(r[1] for r in rows), max(r[2] for r in rows)
    lines.append(f"tests ran for {last - first:.0f} s (first start to last end)")
    by_worker: dict[str, list] = defaultdict(list)
    for row in rows:
        by_worker[row[0]].append(row)
    for worker, own in sorted(by_worker.items()):
        busy = sum(end - start for _w, start, end, _when, _n in own)
        browser = sum(end - start for _w, start, end, _when, n in own if n.startswith("tests/browser/"))
        tests = len({n for *_rest, n in own})
        lines.append(
            f"{worker}: {tests} tests, busy {busy:.0f} s (browser {browser:.0f} s), "
            f"from +{min(r[1] for r in own) - first:.0f} s to +{max(r[2] for r in own) - first:.0f} s"
        )
    phases: dict[str, float] = defaultdict(float)
    files: dict[str, float] = defaultdict(float)
    for _worker, start, end, when, nodeid in rows:
        phases[when] += end - start
        files[nodeid.split("::")[0]] += end - start
    total = sum(phases.values())
    browser = sum(t for f, t in files.items() if f.startswith("tests/browser/"))
    spent = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in phases.items())
    lines.append(f"all tests: {total:.0f} s ({spent}); browser {browser:.0f} s")
    lines.append("slowest files:")
    for name, seconds in sorted(files.items(), key=lambda item: -item[1])[:25]:
        lines.append(f"  {seconds:7.1f} s  {name}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(summarise(sys.argv[1]) + "\n")
