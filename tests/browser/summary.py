"""How many browser tests were skipped for want of a chromium, and how to get one: a
pytest plugin loaded by tests/conftest.py, so the summary also appears under
pytest-xdist (whose controller process never loads tests/browser/conftest.py)."""

import os
import shutil

SKIP_REASON = "chromium not found (browser test)"


def chromium_executable() -> str | None:
    """Debian's chromium (Playwright's own browser download is not reachable here), or
    the binary named by TESSERA_CHROMIUM."""
    candidate = os.environ.get("TESSERA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return candidate if candidate and os.access(candidate, os.X_OK) else None


def pytest_terminal_summary(terminalreporter) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if report.nodeid.startswith("tests/browser/") and SKIP_REASON in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep("-", f"{len(skipped)} browser tests skipped: chromium not found", yellow=True)
        terminalreporter.write_line(
            "Install Debian's chromium to run them (`sudo apt-get install chromium`), or set TESSERA_CHROMIUM "
            "to a Chromium binary. CI installs it (.ci/run) and never skips them."
        )
