"""Which organisations have periodic work coming (issue 16, item 1; docs/scaling.md).

Every write that leaves work for the periodic sweep — an outbox event, a report
request, a weekly schedule, a due date (a trigger on tasks) — calls `pending_work_mark`
in its own transaction. The sweep (`tenant_apps.notifications.periodic`) visits only the
organisations whose time has come, does their work, and then `pending_work_settle`
moves the row to the next time something will be due or deletes it: an idle
organisation costs nothing per minute. A slow pass over every organisation backs it up.

Why nothing is lost: the mark is written in the same transaction as the work, so it
exists whenever the work does (and a rolled-back write leaves neither). Writers take a
shared advisory lock on their organisation for the rest of their transaction; settling
takes the exclusive one before it looks for work left, so it waits for every writer in
flight and sees what they committed, and a writer that comes later writes a new mark."""

from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from shared_apps.tenants.models import PendingWork

_LOCK_CLASS = 16016  # the first key of the advisory locks (the second: the schema's hash)


def pending_work_mark(*, due_at: datetime | None = None, schema_name: str | None = None) -> None:
    """Record, in the caller's transaction, that the current organisation (or
    `schema_name`) has periodic work due at `due_at` (default: now). Moves an existing
    mark earlier, never later. One SQL statement; it locks the row only when it creates
    or moves it, so concurrent writers of one organisation do not queue behind each
    other."""
    schema = schema_name or connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.tenants_pending_work_mark(%s, %s)", [schema, due_at or timezone.now()])


def pending_work_due(*, now: datetime | None = None, limit: int = 1000) -> list[str]:
    """Schemas whose periodic work is due, the longest waiting first."""
    return list(
        PendingWork.objects.filter(due_at__lte=now or timezone.now())
        .order_by("due_at")
        .values_list("schema_name", flat=True)[:limit]
    )


def pending_work_settle(*, schema_name: str, next_due: Callable[[], datetime | None]) -> datetime | None:
    """After the sweep has done an organisation's work: wait for its writers in flight,
    ask `next_due()` (called in the organisation's schema, inside this transaction) when
    work will next be due, and move the mark there — or delete it when nothing is left.
    Returns that time."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, schema_name])
        due = next_due()
        if due is None:
            PendingWork.objects.filter(schema_name=schema_name).delete()
        else:
            PendingWork.objects.update_or_create(schema_name=schema_name, defaults={"due_at": due})
    return due
