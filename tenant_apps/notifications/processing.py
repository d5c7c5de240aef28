"""What a worker does with an event: decide who hears of it, on which channels, and write
the deliveries — idempotently (DESIGN.md section 5)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.celery import enqueue_on_commit, send_in_schema
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import (
    TASKLESS_KINDS,
    Channel,
    DeliveryStatus,
    EmailDelivery,
    Event,
    EventKind,
    Notification,
    Preference,
    ProjectMute,
    Watcher,
    Webhook,
    WebhookDelivery,
)
from tenant_apps.notifications.services import unread_count_invalidate
from tenant_apps.notifications.task_names import EMAIL_SEND, EVENT_PROCESS, WEBHOOK_DELIVER
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import project_permissions

logger = logging.getLogger(__name__)

# Kinds whose recipients are named in the payload; the others go to the task's people.
_NAMED = {EventKind.ASSIGNED, EventKind.UNASSIGNED, EventKind.MENTIONED, EventKind.UNBLOCKED, *TASKLESS_KINDS}


def _candidate_ids(event: Event) -> set[int]:
    if event.kind in _NAMED:
        ids = set(event.payload.get("member_ids", []))
    elif event.task_id is None:
        ids = set()
    else:
        task = event.task
        ids = set(task.assignees.values_list("pk", flat=True))
        ids |= set(Watcher.objects.filter(task=task).values_list("member_id", flat=True))
        if task.reporter_id:
            ids.add(task.reporter_id)
        # People mentioned in a comment hear of it once, as a mention.
        ids -= set(event.payload.get("mentioned_ids", []))
    ids.discard(event.actor_id)
    return ids


def recipients(event: Event) -> dict[int, set[str]]:
    """{member id: channels} for `event`: never the actor, only active members who can
    still see the task, as their preferences and project mutes allow."""
    ids = _candidate_ids(event)
    if not ids:
        return {}
    if event.kind not in TASKLESS_KINDS and event.task_id is None:
        return {}  # the task is gone: nobody can see it any more
    members = list(Member.objects.filter(pk__in=ids, is_active=True))
    if event.task_id is not None:
        project = event.task.project
        members = [m for m in members if "project.view" in project_permissions(member=m, project=project)]
        blocker_project_id = event.payload.get("blocker_project_id")
        if event.kind == EventKind.UNBLOCKED and blocker_project_id not in (None, project.pk):
            # A blocker in another project: only those who can see it hear of it (the
            # relations list hides it from the others too).
            blocker_project = Project.objects.filter(pk=blocker_project_id).first()
            if blocker_project is not None:
                members = [
                    m for m in members if "project.view" in project_permissions(member=m, project=blocker_project)
                ]
        muted = set(ProjectMute.objects.filter(project=project, member__in=members).values_list("member_id", flat=True))
        members = [m for m in members if m.pk not in muted]
    choices = {pref.member_id: pref for pref in Preference.objects.filter(kind=event.kind, member__in=members)}
    result: dict[int, set[str]] = {}
    for member in members:
        pref = choices.get(member.pk)
        channels = set()
        if pref is None or pref.in_app:
            channels.add(Channel.IN_APP)
        # `email: false`: the caller mails it itself (a scheduled report with its file).
        if (pref is None or pref.email) and event.payload.get("email", True):
            channels.add(Channel.EMAIL)
        if channels:
            result[member.pk] = channels
    return result


def _email_due_at(member_ids: list[int], now) -> dict[int, object]:
    """Emails wait for the digest window; a recipient who already has emails waiting
    joins that batch, so several events within the window make one digest."""
    window = timedelta(seconds=settings.NOTIFICATIONS_EMAIL_DIGEST_SECONDS)
    waiting = dict(
        EmailDelivery.objects.filter(
            recipient_id__in=member_ids, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at__gt=now
        )
        .order_by("recipient_id", "next_attempt_at")
        .distinct("recipient_id")
        .values_list("recipient_id", "next_attempt_at")
    )
    return {pk: waiting.get(pk, now + window) for pk in member_ids}


def event_process(event_id: int) -> bool:
    """Turn the event into deliveries; True if this call did the work. Safe to run any
    number of times, concurrently too: the event row is locked, processed events are
    skipped, and every delivery is unique per event and recipient."""
    now = timezone.now()
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(of=("self",)).select_related("task__project").filter(pk=event_id).first()
        )
        if event is None or event.processed_at is not None:
            return False
        targets = recipients(event)
        in_app = [pk for pk, channels in targets.items() if Channel.IN_APP in channels]
        email = [pk for pk, channels in targets.items() if Channel.EMAIL in channels]
        Notification.objects.bulk_create(
            [Notification(event=event, recipient_id=pk) for pk in in_app], ignore_conflicts=True
        )
        due = _email_due_at(email, now)
        EmailDelivery.objects.bulk_create(
            [EmailDelivery(event=event, recipient_id=pk, next_attempt_at=due[pk]) for pk in email],
            ignore_conflicts=True,
        )
        hooks = [hook for hook in Webhook.objects.filter(is_active=True) if not hook.kinds or event.kind in hook.kinds]
        if hooks:
            WebhookDelivery.objects.bulk_create(
                [WebhookDelivery(webhook=hook, event=event, next_attempt_at=now) for hook in hooks],
                ignore_conflicts=True,
            )
        event.processed_at = now
        event.save(update_fields=["processed_at"])
        unread_count_invalidate(in_app)
        for pk in email:
            enqueue_on_commit(EMAIL_SEND, args=[pk], countdown=max(0.0, (due[pk] - now).total_seconds()))
        if hooks:
            for delivery_id in WebhookDelivery.objects.filter(event=event).values_list("pk", flat=True):
                enqueue_on_commit(WEBHOOK_DELIVER, args=[delivery_id])
    logger.info(
        "event %s (%s) processed: %d in-app, %d email, %d webhooks",
        event.pk,
        event.kind,
        len(in_app),
        len(email),
        len(hooks),
    )
    return True


def outbox_sweep_here() -> dict[str, int]:
    """Send again what should have happened by now in this organisation: events left
    unprocessed (the broker was down at commit time, or a worker died) and email/webhook
    deliveries whose time has come (the outbox sweep; idempotent like every step)."""
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
        if send_in_schema(EVENT_PROCESS, schema_name=schema, args=[event_id]) is not None:
            sent_events += 1
    if event_ids:
        Event.objects.filter(pk__in=event_ids).update(redispatched=F("redispatched") + 1)
    member_ids = list(
        EmailDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=stale)
        .values_list("recipient_id", flat=True)
        .distinct()[:1000]
    )
    for member_id in member_ids:
        send_in_schema(EMAIL_SEND, schema_name=schema, args=[member_id])
    delivery_ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=stale).values_list(
            "pk", flat=True
        )[:1000]
    )
    for delivery_id in delivery_ids:
        send_in_schema(WEBHOOK_DELIVER, schema_name=schema, args=[delivery_id])
    return {"events": sent_events, "emails": len(member_ids), "webhooks": len(delivery_ids)}
