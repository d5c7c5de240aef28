"""What a worker does with an event: decide who hears of it, on which channels, and write
the deliveries — idempotently (DESIGN.md section 5)."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
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
from tenant_apps.notifications.task_names import EMAIL_SEND, EMAILS_SEND, EVENT_PROCESS, WEBHOOK_DELIVER
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import project_permissions_many
from tenant_apps.tasks.models import Task

logger = logging.getLogger(__name__)


class Audience:
    """Who may hear of an event, before the rules every kind shares (never the actor;
    active members who can still see the task; preferences and project mutes)."""

    # The people the payload names (`member_ids`).
    NAMED = "named"
    # The task's assignees, reporter and watchers, less those a comment mentions (they
    # hear of it once, as a mention).
    TASK_PEOPLE = "task_people"


# The dispatch table. A new kind is one line here (and its texts in texts.py); a kind
# missing from the table goes to the task's people, like a status change.
KIND_AUDIENCE: dict[str, str] = {
    EventKind.STATUS_CHANGED: Audience.TASK_PEOPLE,
    EventKind.COMMENT_ADDED: Audience.TASK_PEOPLE,
    EventKind.DUE_SOON: Audience.TASK_PEOPLE,
    EventKind.ASSIGNED: Audience.NAMED,
    EventKind.UNASSIGNED: Audience.NAMED,
    EventKind.MENTIONED: Audience.NAMED,
    EventKind.UNBLOCKED: Audience.NAMED,
    **dict.fromkeys(TASKLESS_KINDS, Audience.NAMED),
}


def _audience(kind: str) -> str:
    return KIND_AUDIENCE.get(kind, Audience.TASK_PEOPLE)


def _candidate_ids(events: list[Event]) -> dict[int, set[int]]:
    """{event id: member ids who may hear of it}, for the whole batch with two queries
    (the tasks' assignees and watchers)."""
    task_ids = {
        event.task_id for event in events if event.task_id is not None and _audience(event.kind) == Audience.TASK_PEOPLE
    }
    people: dict[int, set[int]] = defaultdict(set)
    if task_ids:
        assigned = Task.assignees.through.objects.filter(task_id__in=task_ids).values_list("task_id", "member_id")
        watching = Watcher.objects.filter(task_id__in=task_ids).values_list("task_id", "member_id")
        for task_id, member_id in [*assigned, *watching]:
            people[task_id].add(member_id)
    result = {}
    for event in events:
        if _audience(event.kind) == Audience.NAMED:
            ids = set(event.payload.get("member_ids", []))
        elif event.task_id is None:
            ids = set()
        else:
            ids = set(people[event.task_id])
            if event.task.reporter_id:
                ids.add(event.task.reporter_id)
            ids -= set(event.payload.get("mentioned_ids", []))
        ids.discard(event.actor_id)
        if event.kind not in TASKLESS_KINDS and event.task_id is None:
            ids = set()  # the task is gone: nobody can see it any more
        result[event.pk] = ids
    return result


def recipients_many(events: list[Event]) -> dict[int, dict[int, set[str]]]:
    """{event id: {member id: channels}} for a batch of events (their tasks and projects
    selected): never the actor, only active members who can still see the task — and a
    blocker in another project, for `task.unblocked` —, as their preferences and project
    mutes allow. A constant number of queries whatever the batch's size: the members,
    permissions, mutes and preferences are read once for all its events."""
    candidates = _candidate_ids(events)
    all_ids = set().union(*candidates.values()) if candidates else set()
    if not all_ids:
        return {event.pk: {} for event in events}
    members = {member.pk: member for member in Member.objects.filter(pk__in=all_ids, is_active=True)}
    blocker_ids = {
        event.payload.get("blocker_project_id")
        for event in events
        if event.kind == EventKind.UNBLOCKED
        and event.task_id is not None
        and event.payload.get("blocker_project_id") not in (None, event.task.project_id)
    }
    blockers = {project.pk: project for project in Project.objects.filter(pk__in=blocker_ids)} if blocker_ids else {}
    # Whose sight of which project counts, for every event at once.
    needed: dict[int, list[Project]] = {}
    for event in events:
        if event.task_id is None:
            continue
        projects = [event.task.project]
        blocker = blockers.get(event.payload.get("blocker_project_id")) if event.kind == EventKind.UNBLOCKED else None
        if blocker is not None and blocker.pk != event.task.project_id:
            # A blocker in another project: only those who can see it hear of it (the
            # relations list hides it from the others too).
            projects.append(blocker)
        needed[event.pk] = projects
    pairs = {
        (members[pk], project)
        for event in events
        for project in needed.get(event.pk, [])
        for pk in candidates[event.pk]
        if pk in members
    }
    permissions = project_permissions_many(pairs=pairs)
    task_projects = {event.task.project_id for event in events if event.task_id is not None}
    muted = (
        set(
            ProjectMute.objects.filter(project_id__in=task_projects, member_id__in=members).values_list(
                "member_id", "project_id"
            )
        )
        if task_projects
        else set()
    )
    choices = {
        (pref.member_id, pref.kind): pref
        for pref in Preference.objects.filter(member_id__in=members, kind__in={event.kind for event in events})
    }
    result: dict[int, dict[int, set[str]]] = {}
    for event in events:
        targets: dict[int, set[str]] = {}
        for pk in sorted(candidates[event.pk]):
            if pk not in members:
                continue
            if event.task_id is not None:
                if any("project.view" not in permissions[(pk, project.pk)] for project in needed[event.pk]):
                    continue
                if (pk, event.task.project_id) in muted:
                    continue
            pref = choices.get((pk, event.kind))
            channels = set()
            if pref is None or pref.in_app:
                channels.add(Channel.IN_APP)
            # `email: false`: the caller mails it itself (a scheduled report with its file).
            if (pref is None or pref.email) and event.payload.get("email", True):
                channels.add(Channel.EMAIL)
            if channels:
                targets[pk] = channels
        result[event.pk] = targets
    return result


def recipients(event: Event) -> dict[int, set[str]]:
    """{member id: channels} for one `event` (recipients_many of a batch of one)."""
    return recipients_many([event])[event.pk]


def _email_due_at(member_ids: list[int], now) -> dict[int, object]:
    """Emails wait for the digest window; a recipient who already has emails waiting
    joins that batch, so several events within the window make one digest."""
    if not member_ids:
        return {}
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


def _events_process_locked(events: list[Event], now) -> dict[str, int]:
    """Turn `events` (locked by the caller's transaction, unprocessed, their tasks and
    projects selected) into deliveries with a constant number of statements: one insert
    per table for the whole batch (unique per event and recipient, so a repeated run adds
    nothing), one update marking them processed. After the commit: one email task per
    batch (per due time) and one task per webhook delivery."""
    targets = recipients_many(events)
    notifications, email_rows, in_app, email = [], [], set(), set()
    for event in events:
        for pk, channels in targets[event.pk].items():
            if Channel.IN_APP in channels:
                notifications.append(Notification(event=event, recipient_id=pk))
                in_app.add(pk)
            if Channel.EMAIL in channels:
                email_rows.append((event, pk))
                email.add(pk)
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    due = _email_due_at(sorted(email), now)
    EmailDelivery.objects.bulk_create(
        [EmailDelivery(event=event, recipient_id=pk, next_attempt_at=due[pk]) for event, pk in email_rows],
        ignore_conflicts=True,
    )
    active_hooks = list(Webhook.objects.filter(is_active=True))
    hook_rows = [
        WebhookDelivery(webhook=hook, event=event, next_attempt_at=now)
        for event in events
        for hook in active_hooks
        if not hook.kinds or event.kind in hook.kinds
    ]
    if hook_rows:
        WebhookDelivery.objects.bulk_create(hook_rows, ignore_conflicts=True)
    Event.objects.filter(pk__in=[event.pk for event in events]).update(processed_at=now)
    for event in events:
        event.processed_at = now
    unread_count_invalidate(sorted(in_app))
    by_due: dict[object, list[int]] = defaultdict(list)
    for pk in sorted(email):
        by_due[due[pk]].append(pk)
    for at, member_ids in by_due.items():
        enqueue_on_commit(EMAILS_SEND, args=[member_ids], countdown=max(0.0, (at - now).total_seconds()))
    if hook_rows:
        hooked = {row.event_id for row in hook_rows}
        pending = WebhookDelivery.objects.filter(event_id__in=hooked, status=DeliveryStatus.PENDING)
        for delivery_id in pending.values_list("pk", flat=True):
            enqueue_on_commit(WEBHOOK_DELIVER, args=[delivery_id])
    return {"events": len(events), "in_app": len(notifications), "email": len(email_rows), "webhooks": len(hook_rows)}


def _claimed() -> QuerySet:
    return Event.objects.select_for_update(of=("self",), skip_locked=True).select_related("task__project")


def event_process(event_id: int) -> bool:
    """Process one event (a batch of one); True if this call did the work. Safe to run
    any number of times, concurrently too: the event row is locked, processed events are
    skipped, and every delivery is unique per event and recipient."""
    now = timezone.now()
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(of=("self",)).select_related("task__project").filter(pk=event_id).first()
        )
        if event is None or event.processed_at is not None:
            return False
        counts = _events_process_locked([event], now)
    logger.info("event %s (%s) processed: %s", event.pk, event.kind, counts)
    return True


def events_process_batch(*, limit: int | None = None, exclude: Iterable[int] = ()) -> list[int]:
    """Claim up to `limit` unprocessed events of this organisation, oldest first
    (`SELECT … FOR UPDATE SKIP LOCKED`: concurrent workers take disjoint batches and
    never wait for each other), and process them in one transaction. Returns their ids.
    A worker killed half-way leaves an uncommitted transaction that PostgreSQL rolls back:
    the events stay unprocessed and are claimed again, and the unique rows hold."""
    limit = limit or settings.NOTIFICATIONS_BATCH_SIZE
    now = timezone.now()
    with transaction.atomic():
        # In the order of the partial index of unprocessed events (notif_event_pending): the
        # claim never walks the processed ones, however many there are.
        pending = _claimed().filter(processed_at__isnull=True).exclude(pk__in=list(exclude))
        events = list(pending.order_by("created_at", "pk")[:limit])
        if events:
            counts = _events_process_locked(events, now)
            logger.info("%d events processed in one batch: %s", len(events), counts)
    return [event.pk for event in events]


def outbox_drain(*, limit: int | None = None, max_batches: int = 10) -> dict[str, int]:
    """Process this organisation's unprocessed events in batches until none is left (or
    `max_batches` were done: then the rest is sent on in a new task, so one busy
    organisation does not keep a worker from the others). A batch that fails is done
    again event by event, so one bad event holds back only itself (the sweep sends it
    again later)."""
    limit = limit or settings.NOTIFICATIONS_BATCH_SIZE
    processed, failed = 0, set()
    for _batch in range(max_batches):
        try:
            ids = events_process_batch(limit=limit, exclude=failed)
        except Exception:
            logger.exception("a batch of events failed; processing them one by one")
            with transaction.atomic():
                ids = list(
                    Event.objects.filter(processed_at__isnull=True)
                    .exclude(pk__in=list(failed))
                    .order_by("created_at", "pk")
                    .values_list("pk", flat=True)[:limit]
                )
            for event_id in ids:
                try:
                    processed += event_process(event_id)
                except Exception:
                    logger.exception("event %s failed", event_id)
                    failed.add(event_id)
            if len(ids) < limit:
                break
            continue
        processed += len(ids)
        if len(ids) < limit:
            break
    else:
        # Still full after max_batches: the rest in a new message, behind other organisations'.
        send_in_schema(EVENT_PROCESS, schema_name=connection.schema_name, args=[None])
    return {"processed": processed, "failed": len(failed)}


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
    # One message for them all: the worker drains the organisation's outbox in batches.
    if event_ids and send_in_schema(EVENT_PROCESS, schema_name=schema, args=[event_ids[0]]) is not None:
        sent_events = len(event_ids)
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
