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


WRITER = """
import json, socket, sys
from django_tenants.utils import schema_context
from shared_apps.tenants.models import Organization
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Event
from tenant_apps.projects.models import Project
from tenant_apps.tasks.services import task_create

def redis_up(port):
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0

organization = Organization.objects.get(slug="acme")
with schema_context(organization.schema_name):
    owner = Member.objects.get(email="owner@acme.test")
    admin = Member.objects.get(email="admin@acme.test")
    project = Project.objects.order_by("pk").first()
    print("WRITER ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "token":
            from shared_apps.accounts.tokens import api_token_create
            owner_user = organization.memberships.get(role="owner").user
            _token, key = api_token_create(user=owner_user, name="runner test")
            print("WRITER " + json.dumps({"token": key}), flush=True)
            continue
        if line.strip() == "eta":
            # Messages the worker holds unacknowledged until their time (countdown): what
            # made the worker crash when the broker connection was lost.
            from config.celery import send_in_schema
            from tenant_apps.notifications.tasks import outbox_sweep
            sent = [send_in_schema(outbox_sweep, schema_name=organization.schema_name, countdown=600) for _ in range(3)]
            print("WRITER " + json.dumps({"sent": sum(1 for result in sent if result is not None)}), flush=True)
            continue
        port = int(line)
        up = redis_up(port)
        task = task_create(project=project, actor=owner, title="written by the runner test", assignees=[admin])
        event = Event.objects.get(task=task, kind="task.assigned")
        print("WRITER " + json.dumps({"event": event.pk, "redis_up_before_write": up}), flush=True)
"""


class Writer:
    """A `manage.py shell` on the runner's database that creates a task assigned to the
    demo admin (one `task.assigned` event, one in-app notification) each time it is told,
    so the write lands at a chosen moment (e.g. right after Redis was killed)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", WRITER],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        """The next answer (lines the shell prints otherwise are skipped)."""
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"writer failed: {self.process.stderr.read()[-4000:]}")
            if line.startswith("WRITER "):
                return line.removeprefix("WRITER ").strip()

    def write(self, redis_port: int) -> dict:
        import json

        self.process.stdin.write(f"{redis_port}\n")
        self.process.stdin.flush()
        return json.loads(self._line())

    def token(self) -> str:
        """An API token of the demo owner."""
        import json

        self.process.stdin.write("token\n")
        self.process.stdin.flush()
        return json.loads(self._line())["token"]

    def hold_unacked_messages(self) -> int:
        import json

        self.process.stdin.write("eta\n")
        self.process.stdin.flush()
        return json.loads(self._line())["sent"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)
