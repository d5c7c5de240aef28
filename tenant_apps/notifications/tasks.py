"""Celery tasks of the notifications outbox. Each runs in the organisation's schema (the
`_schema_name` header set by `config.celery.enqueue_on_commit` / `send_in_schema`) and
takes ids, never model instances. All are idempotent: the outbox tables say what is
done, so a redelivered or re-dispatched message changes nothing."""

from celery import shared_task
from django.db import connection

from config.celery import send_in_schema
from tenant_apps.notifications import emails, periodic, processing, webhooks
from tenant_apps.notifications.services import dispatch_mark_clear, due_soon_record
from tenant_apps.notifications.task_names import EMAIL_SEND, EMAILS_SEND, EVENT_PROCESS, WEBHOOK_DELIVER


@shared_task(name=EVENT_PROCESS, ignore_result=True)
def event_process(event_id: int | None = None) -> bool:
    """Process this organisation's outbox in batches (`event_id` names the event that
    prompted the message; every unprocessed event is taken). True if this run processed
    any. The dispatch mark goes first: an event committed from now on sends a new
    message, one committed before is visible to the claims below."""
    dispatch_mark_clear()
    processed = processing.outbox_drain()["processed"]
    if event_id is not None:
        # The claims skip rows locked by another transaction — a live worker's batch, or
        # a killed worker's until PostgreSQL rolls it back: wait for the prompting event
        # itself (one locked read; nothing to do if that transaction processed it).
        processed += processing.event_process(event_id)
    return processed > 0


@shared_task(name=EMAIL_SEND, ignore_result=True)
def email_send(member_id: int) -> None:
    retry_in = emails.deliveries_send(member_id)
    if retry_in is not None:
        send_in_schema(email_send, schema_name=connection.schema_name, args=[member_id], countdown=retry_in)


@shared_task(name=EMAILS_SEND, ignore_result=True)
def emails_send(member_ids: list[int]) -> None:
    """The emails of a batch of events: each person's due deliveries as one message
    (digest), the lookups shared; a failed person is retried on their own."""
    for member_id, retry_in in emails.deliveries_send_many(member_ids).items():
        send_in_schema(email_send, schema_name=connection.schema_name, args=[member_id], countdown=retry_in)


@shared_task(name=WEBHOOK_DELIVER, ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    retry_in = webhooks.delivery_attempt(delivery_id)
    if retry_in is not None:
        send_in_schema(webhook_deliver, schema_name=connection.schema_name, args=[delivery_id], countdown=retry_in)


@shared_task(name="notifications.outbox_sweep", ignore_result=True)
def outbox_sweep() -> dict[str, int]:
    """Beat, once per organisation: send again what should have happened by now —
    events left unprocessed (the broker was down at commit time, or a worker died) and
    email/webhook deliveries whose time has come."""
    return processing.outbox_sweep_here()


@shared_task(name="notifications.due_soon_scan", ignore_result=True)
def due_soon_scan() -> int:
    """Beat, once per organisation: one "due soon" event per open task and due date."""
    return due_soon_record()


@shared_task(name="periodic.sweep", ignore_result=True)
def periodic_sweep_task() -> dict[str, int]:
    """Beat, every minute, in public: the organisations with periodic work due (outbox,
    reports, schedules, due-soon reminders); idle ones are not visited
    (tenant_apps/notifications/periodic.py)."""
    return periodic.periodic_sweep()


@shared_task(name="periodic.backstop", ignore_result=True)
def periodic_backstop_task() -> dict[str, int]:
    """Beat, once a day, in public: restore any missing PendingWork mark in every organisation."""
    return periodic.periodic_backstop()
