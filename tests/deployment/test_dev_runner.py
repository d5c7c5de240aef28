"""The development runner (platform/dev.py) started for real, as a subprocess."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
from psycopg2 import sql

from tests.deployment.runner_support import ROOT, Runner, Writer, free_port, runner_env


@pytest.mark.skipif(os.geteuid() != 0, reason="the services drop to tessera_pg only when started as root")
def test_services_start_as_root_from_a_checkout_only_root_can_enter():
    """A checkout under a 0700 root-owned directory (/root/..., `mktemp -d`): the servers run
    as tessera_pg and must reach their data through the "other" bits the runner opens, not
    through root's group ids (which they would keep without `group=`/`extra_groups=[]`)."""
    parent = Path(tempfile.mkdtemp(prefix="tessera-root-only-"))
    try:
        assert stat.S_IMODE(parent.stat().st_mode) == 0o700
        assert parent.stat().st_uid == 0
        checkout = parent / "tessera"
        (checkout / "platform").mkdir(parents=True)
        shutil.copy(ROOT / "platform" / "dev.py", checkout / "platform" / "dev.py")
        (checkout / "config").mkdir()
        shutil.copy(ROOT / "config" / "embedded.py", checkout / "config" / "embedded.py")
        env = runner_env(TESSERA_PG_PORT=str(free_port()), TESSERA_REDIS_PORT=str(free_port()))
        runner = Runner(checkout / "platform" / "dev.py", "services", env)
        try:
            runner.wait_for_line("REDIS_URL=", 120)
            assert (checkout / ".data" / "postgres" / "PG_VERSION").is_file()
            assert f"DATABASE_URL=postgres://postgres@127.0.0.1:{env['TESSERA_PG_PORT']}/" in runner.output
        finally:
            assert runner.stop() == 0, runner.output[-4000:]
        assert "stopping embedded PostgreSQL" in runner.output
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _runner_database(name: str) -> str:
    """A database of its own on the test PostgreSQL for a runner under test; its URL."""
    from django.conf import settings

    params = settings.DATABASES["default"]
    admin = psycopg2.connect(
        dbname="postgres", user=params["USER"], password=params["PASSWORD"], host=params["HOST"], port=params["PORT"]
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    return f"postgres://{params['USER']}{password}@{params['HOST']}:{params['PORT']}/{name}"


def _drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = psycopg2.connect(
        dbname="postgres", user=parts.username, password=parts.password, host=parts.hostname, port=parts.port
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path[1:])))
    admin.close()


def _notifications_of(url: str, event_id: int) -> int:
    parts = urlsplit(url)
    connection = psycopg2.connect(
        dbname=parts.path[1:], user=parts.username, password=parts.password, host=parts.hostname, port=parts.port
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT schema_name FROM public.tenants_organization WHERE slug = 'acme'")
            (schema,) = cursor.fetchone()
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {}.notifications_notification WHERE event_id = %s").format(
                    sql.Identifier(schema)
                ),
                [event_id],
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


def _wait_until(predicate, seconds: float, what: str, runner: Runner) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds:.0f}s:\n{runner.output[-6000:]}")
        assert runner.process.poll() is None, f"the runner exited:\n{runner.output[-6000:]}"
        time.sleep(0.5)


def _pid_logged(runner: Runner, name: str, verb: str, after: int = 0) -> tuple[int, int]:
    """The pid in the runner's "<name> started|restarted (pid N)" line after line `after`."""
    index = runner.wait_for_line(f"[dev] {name} {verb} (pid ", 60, after=after)
    return int(re.search(r"\(pid (\d+)\)", runner.lines[index]).group(1)), index


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _get(port: int, path: str, host: str = "localhost") -> int:
    """The status of GET `path`, 0 when the server does not answer in time."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": f"{host}:{port}"})
        return connection.getresponse().status
    except (TimeoutError, ConnectionError):
        return 0
    finally:
        connection.close()


def _create_tasks_at_once(port: int, token: str, count: int) -> list[int]:
    """POST `count` tasks to the demo project WEB from `count` threads released together;
    the sorted task numbers (every answer must be 201)."""
    barrier = threading.Barrier(count)
    answers: list = [None] * count

    def create(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = json.dumps({"title": f"Concurrent {index}"})
        headers = {
            "Host": f"acme.localhost:{port}",
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
        }
        try:
            barrier.wait()
            connection.request("POST", "/api/v1/projects/WEB/tasks/", body=body, headers=headers)
            response = connection.getresponse()
            answers[index] = (response.status, json.loads(response.read() or b"{}"))
        except Exception as exc:  # handed to the assertion below
            answers[index] = (0, repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    failed = [answer for answer in answers if answer is None or answer[0] != 201]
    assert not failed, failed[:5]
    return sorted(answer[1]["number"] for answer in answers)


@pytest.mark.slow
def test_make_run_survives_redis_and_worker_deaths_and_notifies_once(django_db_setup):
    """`platform/dev.py run` for real: Redis is killed while a write happens (the write
    succeeds, its enqueue fails), the runner restarts Redis; then the worker is killed and
    restarted. The worker never dies of the outage (kombu's AttributeError, config/broker.py),
    web keeps serving (gunicorn, static files through WhiteNoise), and the notification of the
    write made during the outage arrives exactly once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    data = Path(tempfile.mkdtemp(prefix=f"tessera-runner-{worker}-"))
    database_url = _runner_database(f"tessera_runner_{worker}_{os.getpid()}")
    web_port, redis_port = free_port(), free_port()
    env = runner_env(
        DATABASE_URL=database_url,
        TESSERA_REDIS_PORT=str(redis_port),
        TESSERA_PORT=str(web_port),
        TESSERA_DATA_DIR=str(data),
        TESSERA_MEDIA_ROOT=str(data / "media"),
        TESSERA_SPARE_POOL_SIZE="0",
        TESSERA_EMAIL_DIGEST_SECONDS="0",
        # The safety net that re-sends the event whose message was lost, soon enough for a test.
        TESSERA_PERIODIC_SWEEP_SECONDS="2",
        TESSERA_OUTBOX_REDISPATCH_SECONDS="2",
        GUNICORN_WORKERS="2",
    )
    runner = Runner(ROOT / "platform" / "dev.py", "run", env)
    writer = None
    try:
        runner.wait_for_line("Tessera is running (gunicorn)", 300)
        # Static files through WhiteNoise (gunicorn has no static handler of its own).
        _wait_until(lambda: _get(web_port, "/static/admin/css/base.css") == 200, 60, "static file", runner)
        shell_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        writer = Writer(shell_env)

        # 50 task creations at once are all served (runserver reset 6-12 of them), with
        # gap-free numbers.
        numbers = _create_tasks_at_once(web_port, writer.token(), 50)
        assert numbers == list(range(numbers[0], numbers[0] + 50))

        # Redis dies while the worker holds unacknowledged messages; a write happens while
        # it is down.
        mark = len(runner.lines)
        assert writer.hold_unacked_messages() == 3
        for _ in range(3):
            mark = runner.wait_for_line("Task notifications.outbox_sweep", 30, after=mark) + 1
        redis_pid = int((data / "redis" / "redis.pid").read_text())
        mark = len(runner.lines)
        os.kill(redis_pid, signal.SIGKILL)
        _wait_until(lambda: not _listening(redis_port), 5, "Redis gone", runner)
        during_outage = writer.write(redis_port)
        assert not during_outage["redis_up_before_write"]
        runner.wait_for_line("redis exited with status", 10, after=mark)
        runner.wait_for_line("redis restarted", 15, after=mark)
        runner.wait_for_line("unacknowledged message(s)", 30, after=mark)
        _wait_until(lambda: _get(web_port, "/healthz") == 200, 60, "healthy stack after Redis came back", runner)

        # The outage alone did not kill the worker (the runner would have restarted it).
        assert "Unrecoverable error" not in runner.output
        assert "worker exited" not in runner.output

        # The worker dies (of anything): the runner starts a new one.
        worker_pid, _ = _pid_logged(runner, "worker", "started")
        mark = len(runner.lines)
        os.kill(worker_pid, signal.SIGKILL)
        runner.wait_for_line("worker exited with status -9", 10, after=mark)
        new_pid, _ = _pid_logged(runner, "worker", "restarted", after=mark)
        assert new_pid != worker_pid

        _wait_until(lambda: _notifications_of(database_url, during_outage["event"]) >= 1, 90, "notification", runner)
        after_recovery = writer.write(redis_port)
        _wait_until(lambda: _notifications_of(database_url, after_recovery["event"]) >= 1, 60, "notification", runner)
        # Several sweeps later, still exactly one each (the re-sent event is idempotent).
        time.sleep(6)
        assert _notifications_of(database_url, during_outage["event"]) == 1
        assert _notifications_of(database_url, after_recovery["event"]) == 1
        assert "Unrecoverable error" not in runner.output
        assert _get(web_port, "/healthz") == 200
    finally:
        if writer is not None:
            writer.close()
        status = runner.stop()
        _drop_database(database_url)
        shutil.rmtree(data, ignore_errors=True)
    assert status == 0, runner.output[-4000:]
    assert "stopping embedded Redis" in runner.output
