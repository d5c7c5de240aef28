"""The start-up check against a transaction-pooling pooler (config/pooler.py), run
against Debian's PgBouncer in session and in transaction mode, and against PostgreSQL
directly. Skipped, saying why, where the `pgbouncer` binary is not installed
(`apt-get install pgbouncer`)."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from config import pooler

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
)
needs_pgbouncer = pytest.mark.skipif(
    PGBOUNCER is None, reason="pgbouncer is not installed (Debian: apt-get install pgbouncer)"
)


def _database_params() -> dict:
    params = connections["default"].get_connection_params()
    return {key: params[key] for key in ("host", "port", "user", "password") if params.get(key) is not None}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def pgbouncer(mode: str, *, pool_size: int = 5) -> Iterator[dict]:
    """A PgBouncer in `mode` in front of the test PostgreSQL; yields psycopg2 params."""
    target = _database_params()
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        config = root / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"probe = host={target.get('host', '127.0.0.1')} port={target.get('port', 5432)} dbname=postgres"
            f" user={target.get('user', 'postgres')}"
            + (f" password={target['password']}" if target.get("password") else "")
            + "\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = any\npool_mode = {mode}\ndefault_pool_size = {pool_size}\n"
            f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n"
        )
        command = [PGBOUNCER, str(config)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            root.chmod(0o777)
            command[1:1] = ["-u", "nobody"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = process.stdout.read().decode() if process.stdout else ""
                        pytest.fail(f"pgbouncer did not start: {output}")
                    time.sleep(0.05)
            yield {"host": "127.0.0.1", "port": port, "dbname": "probe", "user": target.get("user", "postgres")}
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_direct_postgresql_keeps_session_state():
    params = {**_database_params(), "dbname": "postgres"}
    assert pooler.pooling_problem(lambda: psycopg2.connect(**params)) is None


@needs_pgbouncer
def test_session_pooling_is_accepted():
    with pgbouncer("session") as params:
        assert pooler.pooling_problem(lambda: psycopg2.connect(**params)) is None


@needs_pgbouncer
def test_transaction_pooling_is_detected():
    with pgbouncer("transaction") as params:
        problem = pooler.pooling_problem(lambda: psycopg2.connect(**params))
    assert problem is not None
    assert "server backends" in problem or "session setting" in problem


@needs_pgbouncer
def test_transaction_pooling_with_one_server_connection_is_detected_without_hanging():
    with pgbouncer("transaction", pool_size=1) as params:
        started = time.monotonic()
        problem = pooler.pooling_problem(lambda: psycopg2.connect(**params), wait=1)
        assert time.monotonic() - started < 10
    assert problem is not None


@needs_pgbouncer
def test_start_up_is_refused_behind_transaction_pooling_with_the_reason(monkeypatch, settings):
    settings.TESSERA_POOLER_CHECK = True
    with pgbouncer("transaction") as params:
        monkeypatch.setattr(connections["default"], "get_connection_params", lambda: dict(params))
        with pytest.raises(ImproperlyConfigured, match="transaction \\(or statement\\) pooling") as refused:
            pooler.pooler_ensure_session_state()
    assert "search_path" in str(refused.value)
    assert "pool_mode = session" in str(refused.value)
    monkeypatch.undo()  # the next PgBouncer must point at PostgreSQL, not at the last one
    settings.TESSERA_POOLER_CHECK = True
    with pgbouncer("session") as params:
        monkeypatch.setattr(connections["default"], "get_connection_params", lambda: dict(params))
        pooler.pooler_ensure_session_state()  # accepted


def test_the_check_can_be_turned_off(monkeypatch, settings):
    settings.TESSERA_POOLER_CHECK = False
    monkeypatch.setattr(pooler, "pooling_problem", lambda connect: pytest.fail("probed"))
    pooler.pooler_ensure_session_state()
