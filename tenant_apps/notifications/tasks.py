"""Celery tasks of the notifications outbox. Each runs in the organisation's schema (the
`_schema_name` header set by `config.celery.enqueue_on_commit` / `send_in_schema`) and
takes ids, never model instances. All are idempotent: the outbox tables say what is
done, so a redelivered or re-dispatched message changes nothing."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from config.celery import send_in_schema
from tenant_apps.notifications import emails, processing, webhooks
from tenant_apps.notifications.models import DeliveryStatus, EmailDelivery, Event, WebhookDelivery
from tenant_apps.notifications.services import due_soon_record


@shared_task(name="notifications.event_process", ignore_result=True)
def event_process(event_id: int) -> bool:
    return processing.event_process(event_id)


@shared_task(name="notifications.email_send", ignore_result=True)
def email_send(member_id: int) -> None:
    retry_in = emails.deliveries_send(member_id)
    if retry_in is not None:
        send_in_schema(email_send, schema_name=connection.schema_name, args=[member_id], countdown=retry_in)


@shared_task(name="notifications.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    retry_in = webhooks.delivery_attempt(delivery_id)
    if retry_in is not None:
        send_in_schema(webhook_deliver, schema_name=connection.schema_name, args=[delivery_id], countdown=retry_in)


@shared_task(name="notifications.outbox_sweep", ignore_result=True)
def outbox_sweep() -> dict[str, int]:
    """Beat, once per organisation: send again what should have happened by now —
    events left unprocessed (the broker was down at commit time, or a worker died) and
    email/webhook deliveries whose time has come."""
    return outbox_sweep_here()


def outbox_sweep_here() -> dict[str, int]:
    schema = connection.schema_name
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_SECONDS)
    event_ids = list(
        # Least re-sent first: events that keep failing never crowd out newer lost ones.
        Event.objects.filter(processed_at__isnull=True, created_at__lte=stale)
        .order_by("redispatched", "pk")
        .values_list("pk", flat=True)[:1000]
    )
    sent_events = 0
    for event_id in event_ids:
        if send_in_schema(event_process, schema_name=schema, args=[event_id]) is not None:
            sent_events += 1
    if event_ids:
        Event.objects.filter(pk__in=event_ids).update(redispatched=F("redispatched") + 1)
    member_ids = list(
        EmailDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=stale)
        .values_list("recipient_id", flat=True)
        .distinct()[:1000]
    )
    for member_id in member_ids:
        send_in_schema(email_send, schema_name=schema, args=[member_id])
    delivery_ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=stale).values_list(
            "pk", flat=True
        )[:1000]
    )
    for delivery_id in delivery_ids:
        send_in_schema(webhook_deliver, schema_name=schema, args=[delivery_id])
    return {"events": sent_events, "emails": len(member_ids), "webhooks": len(delivery_ids)}


@shared_task(name="notifications.due_soon_scan", ignore_result=True)
def due_soon_scan() -> int:
    """Beat, once per organisation: one "due soon" event per open task and due date."""
    return due_soon_record()


@shared_task(name="periodic.sweep", ignore_result=True)
def periodic_sweep_task() -> dict[str, int]:
    """Beat, every minute, in public: the organisations with periodic work due (outbox,
    reports, schedules, due-soon reminders); idle ones are not visited
    (tenant_apps/notifications/periodic.py)."""
    from tenant_apps.notifications.periodic import periodic_sweep

    return periodic_sweep()


@shared_task(name="periodic.backstop", ignore_result=True)
def periodic_backstop_task() -> dict[str, int]:
    """Beat, once a day, in public: restore any missing PendingWork mark in every organisation."""
    from tenant_apps.notifications.periodic import periodic_backstop

    return periodic_backstop()
