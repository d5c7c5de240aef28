"""A real Celery worker for integration tests: a worker thread consuming this test
process's own queue on real Redis (config/settings/test.py gives each xdist worker its
own Redis database)."""

from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.db import connection

from config.celery import app
from tenant_apps.members.models import Member


@app.task(name="tests.schema_probe")
def schema_probe(marker: str) -> dict:
    """Reports where it ran: the active schema and whether that schema holds `marker`.
    Also leaves the answer in the (tenant-prefixed) cache."""
    answer = {"schema": connection.schema_name, "marker_seen": Member.objects.filter(email=marker).exists()}
    cache.set(f"probe:{marker}", answer, 60)
    return answer


@contextmanager
def running_worker() -> Iterator[object]:
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING") as worker:
        yield worker
