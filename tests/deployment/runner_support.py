"""Drive `platform/dev.py` as a subprocess, the way `make run` / `make services` do, on
ports of the test's own (free ones, so pytest-xdist workers and other checkouts on the
machine never collide)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runner_env(**overrides: str) -> dict[str, str]:
    """The environment of a fresh `make run`: no DATABASE_URL / REDIS_URL (so the runner
    starts its own embedded services) and none of the test settings."""
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(overrides)
    return env


class Runner:
    """`python <checkout>/platform/dev.py <command>` with its output collected line by line."""

    def __init__(self, script: Path, command: str, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(script), command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: the test can signal it like a terminal's Ctrl-C would.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, predicate: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"runner exited ({self.process.returncode}) before {what}:\n{self.output[-6000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {seconds:.0f}s:\n{self.output[-6000:]}")
            time.sleep(0.2)

    def wait_for_line(self, text: str, seconds: float, *, after: int = 0) -> int:
        """Wait for a line containing `text` (from line index `after` on); its index."""
        found: list[int] = []

        def seen() -> bool:
            for index in range(after, len(self.lines)):
                if text in self.lines[index]:
                    found.append(index)
                    return True
            return False

        self.wait_for(seen, seconds, repr(text))
        return found[0]

    def stop(self, seconds: float = 60) -> int:
        """SIGTERM, as a service manager would; kill if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
                raise
        self._reader.join(5)
        return self.process.returncode
