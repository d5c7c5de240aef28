"""The Celery app: tenant-aware (tenant-schemas-celery), configured from Django settings.

Every task runs in the schema named by its `_schema_name` header. That header is read
when the task is *sent*, so enqueue through `enqueue_on_commit`, which captures the schema
when the write happens (DESIGN.md section 5).
"""

import logging
import os
from collections.abc import Sequence
from typing import Any

from celery import Task, signals
from celery.result import AsyncResult
from django.db import connection, transaction
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("tessera")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _pooler_check(**_kwargs) -> None:
    """A worker or beat behind a transaction-pooling pooler refuses to start (config/pooler.py).
    Celery logs and swallows exceptions from signal handlers, hence SystemExit."""
    from django.core.exceptions import ImproperlyConfigured

    from config.pooler import pooler_ensure_session_state

    try:
        pooler_ensure_session_state()
    except ImproperlyConfigured as exc:
        logger.critical("%s", exc)
        raise SystemExit(str(exc)) from exc


logger = logging.getLogger(__name__)


def task_resolve(task: Task | str) -> Task:
    """`task` itself, or the task registered under that name. Services enqueue their
    app's worker tasks by name (e.g. "notifications.event_process"): `tasks.py` imports
    the services it wraps, so a service importing `tasks.py` back would be an import
    circle (docs/architecture.md, "Imports"). An unknown name raises NotRegistered here,
    before anything is sent: a typo fails loudly, it is never a silently lost message."""
    if not isinstance(task, str):
        return task
    if task not in app.tasks:
        # A web process imports no `tasks.py` by itself: let Celery import every
        # installed app's (its autodiscovery, what a worker does at start), once.
        app.loader.import_default_modules()
    return app.tasks[task]


def send_in_schema(
    task: Task | str,
    *,
    schema_name: str,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> AsyncResult | None:
    """Send `task` (a task or its registered name) to run in `schema_name`. Returns None
    (and logs) when the broker is unreachable: callers that must not lose work keep an
    outbox row a periodic job re-dispatches, so a broker outage never fails the
    caller's write."""
    task = task_resolve(task)
    try:
        return task.apply_async(
            args=list(args), kwargs=kwargs or {}, headers={"_schema_name": schema_name}, countdown=countdown
        )
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not enqueue %s for schema %s", task.name, schema_name, exc_info=True)
        return None


def enqueue_on_commit(
    task: Task | str,
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    schema_name: str | None = None,
    countdown: float | None = None,
) -> None:
    """Send `task` (a task or its registered name) after the current transaction
    commits, in the schema that is active
    *now* (or `schema_name`). Capturing it here matters: an `on_commit` callback may run
    after a `schema_context` has exited, and a plain `.delay()` then goes to public."""
    schema = schema_name or connection.schema_name
    task = task_resolve(task)  # an unknown name fails the write here, not later
    transaction.on_commit(
        lambda: send_in_schema(task, schema_name=schema, args=args, kwargs=kwargs, countdown=countdown)
    )
