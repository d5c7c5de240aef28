"""Refuse to start behind a transaction-pooling connection pooler (issue 16, item 8).

django-tenants selects the organisation with `SET search_path` on the connection: that
is session state. Behind PgBouncer in transaction (or statement) mode, consecutive
transactions of one client run on different server connections, so one request's
queries could run in another organisation's schema. Session mode keeps a client on one
server connection and is safe (docker-compose.yml runs PgBouncer so).

PgBouncer's pool mode is not visible to a client (`SHOW pool_mode` exists only on its
admin console), so the probe watches what the mode does, with two connections:

1. A begins a transaction and keeps it open: it holds a server connection.
2. B sets a custom setting for its session and notes its backend pid.
3. A commits: its server connection is idle again (PgBouncer reuses the most recently
   released one first).
4. B, in a new transaction, reads its pid and the setting again.

Session pooling (or no pooler): the same pid, the setting still there. Transaction
pooling: another pid or the setting gone. If B is kept waiting in step 2 (the pool has
one server connection, or too few for the app), that is refused too: with either the
app would share or wait for connections it must own.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

PROBE_WAIT_SECONDS = 5.0
REFUSAL = (
    "Tessera refuses to start: the database connection goes through a connection pooler in "
    "transaction (or statement) pooling mode ({evidence}). Each organisation is selected with "
    "`SET search_path` on the connection, which is session state: under transaction pooling one "
    "request's queries could run in another organisation's schema. Use session pooling "
    "(PgBouncer: pool_mode = session, as docker-compose.yml does) or connect to PostgreSQL directly. "
    "See docs/scaling.md, 'Connection pooling'."
)


def pooling_problem(connect: Callable[[], Any], *, wait: float = PROBE_WAIT_SECONDS) -> str | None:
    """None when session state survives between transactions on one client connection
    (direct PostgreSQL or session pooling); otherwise what the probe saw. `connect`
    returns a new DB-API connection (psycopg2) to the same database as the app."""
    holder, probe = connect(), connect()
    try:
        holder.autocommit = False
        probe.autocommit = True
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")  # a transaction holding a server connection
        first = _run_within(
            probe,
            "SELECT set_config('tessera.pooler_probe', 'kept', false), pg_backend_pid()",
            wait,
        )
        if first is None:
            return f"a second connection waited over {wait:.0f} s for a server connection while the first held one"
        holder.commit()
        second = _run_within(probe, "SELECT current_setting('tessera.pooler_probe', true), pg_backend_pid()", wait)
        if second is None:
            return "a connection's second transaction was kept waiting"
        if second[1] != first[1]:
            return f"one client connection ran its transactions on server backends {first[1]} and {second[1]}"
        if second[0] != "kept":
            return "a session setting made in one transaction was gone in the next"
        return None
    finally:
        for connection in (holder, probe):
            try:
                connection.close()
            except Exception:
                logger.debug("closing a pooler probe connection failed", exc_info=True)


def _run_within(connection, sql: str, wait: float) -> tuple | None:
    """The first row of `sql` on `connection`, or None if it takes longer than `wait`
    (then the query is cancelled and the connection is not reused)."""
    result: list = []

    def run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                result.append(cursor.fetchone())
        except Exception as exc:
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(wait)
    if worker.is_alive():
        try:
            connection.cancel()
        except Exception:
            logger.debug("cancelling the pooler probe failed", exc_info=True)
        return None
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0]


def pooler_ensure_session_state(alias: str = "default") -> None:
    """Raise ImproperlyConfigured (with the reason) when `alias` goes through a
    transaction-pooling pooler. Called when gunicorn loads the app and when a Celery
    worker or beat starts; TESSERA_POOLER_CHECK=false skips it."""
    import psycopg2
    from django.conf import settings
    from django.db import connections

    if not getattr(settings, "TESSERA_POOLER_CHECK", True):
        return
    params = connections[alias].get_connection_params()
    problem = pooling_problem(lambda: psycopg2.connect(**params))
    if problem is not None:
        raise ImproperlyConfigured(REFUSAL.format(evidence=problem))
