"""Writing events (the outbox), watchers, preferences and reading marks. Call inside the
organisation's schema. `event_record` must run inside the transaction of the change it
reports: the event commits with the change or not at all (DESIGN.md section 5)."""

import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Left, Lower, Replace, StrIndex
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context
from redis.exceptions import RedisError

from config.celery import send_in_schema, task_resolve
from shared_apps.accounts.models import User
from shared_apps.audit.services import audit_diff, audit_record, audit_target
from shared_apps.tenants.models import MANAGER_ROLES
from shared_apps.tenants.pending import pending_work_mark
from shared_apps.tenants.selectors import current_organization
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import (
    Event,
    EventKind,
    Notification,
    Preference,
    ProjectMute,
    Watcher,
    Webhook,
)
from tenant_apps.notifications.task_names import EVENT_PROCESS
from tenant_apps.notifications.webhooks import url_check
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import project_permissions
from tenant_apps.tasks.models import Task, TaskRelation, TaskStatus

logger = logging.getLogger(__name__)

_UNREAD_TTL_SECONDS = 300
# `@ada@acme.example` or `@ada` (the email's local part, or the display name without
# spaces). Not preceded by a word character, so plain emails are not mentions.
_MENTION = re.compile(r"(?<![\w@])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+|[\w.+-]+)", re.UNICODE)


def _task_payload(task: Task, actor: Member | None) -> dict[str, Any]:
    return {
        "task_key": f"{task.project.key}-{task.number}",
        "task_title": task.title,
        "project_key": task.project.key,
        "actor_name": (actor.display_name or actor.email) if actor else "",
    }


def event_record(
    *,
    kind: str,
    actor: Member | None,
    task: Task | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Event:
    """Write an event in the caller's transaction and have a worker process it after the
    commit. If the broker is down then, the event stays unprocessed and the periodic
    sweep sends it again: the caller's write never fails because of Redis."""
    data = _task_payload(task, actor) if task is not None else {}
    data.update(payload or {})
    event = Event.objects.create(kind=kind, actor=actor, task=task, payload=data, dedupe_key=dedupe_key)
    # The sweep looks here once the event could have been lost (shared_apps/tenants/pending.py).
    pending_work_mark(due_at=event.created_at + timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_SECONDS))
    dispatch_on_commit(event_id=event.pk)
    return event


# Set while a worker message for this organisation's outbox is waiting (the
# organisation's cache): later events ride on it instead of sending one message each.
_DISPATCH_MARK = "notifications:dispatch-pending"
# A mark whose message was lost (or whose worker died before clearing it) stops saving
# messages after this long; the events meanwhile are the sweep's, as ever.
_DISPATCH_MARK_SECONDS = 10


def _dispatch_mark_set(event_id: int) -> bool:
    """True if this call set the mark, or the cache could not tell (then send anyway):
    Django's own add(), not the resilient wrapper's (which answers False in an outage)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return backend.add(_DISPATCH_MARK, event_id, _DISPATCH_MARK_SECONDS)
    try:
        return RedisCache.add(backend, _DISPATCH_MARK, event_id, _DISPATCH_MARK_SECONDS)
    except (RedisError, OSError):
        return True


def dispatch_mark_clear() -> None:
    """The worker, before it claims events: from now on a commit sends a new message.
    Django's own delete(), not the resilient wrapper's: after a slow answer its circuit
    breaker skips Redis for seconds, and a mark left standing would hold later commits'
    messages back until it expires."""
    backend = caches["default"]
    try:
        if isinstance(backend, RedisCache):
            RedisCache.delete(backend, _DISPATCH_MARK)
        else:
            backend.delete(_DISPATCH_MARK)
    except (RedisError, OSError):
        logger.warning("could not clear the dispatch mark", exc_info=True)


def dispatch_on_commit(*, event_id: int) -> None:
    """After the commit, have a worker process this organisation's outbox — unless a
    message for it is already waiting (the dispatch mark): at most a couple of messages
    per organisation are in flight however many events are written, and the worker takes
    them in batches. Nothing rests on the mark: an event whose message never comes is
    sent again by the sweep (NOTIFICATIONS_REDISPATCH_SECONDS)."""
    schema = connection.schema_name

    def dispatch() -> None:
        with schema_context(schema):
            if not _dispatch_mark_set(event_id):
                return
            if send_in_schema(EVENT_PROCESS, schema_name=schema, args=[event_id]) is None:
                cache.delete(_DISPATCH_MARK)  # the broker is down: let the next commit try

    task_resolve(EVENT_PROCESS)  # an unknown name fails the write here, not later
    transaction.on_commit(dispatch)


def watchers_add(*, task: Task, members: Iterable[Member]) -> None:
    """Make `members` watch `task` (part of another service's write: assignment,
    mention, a new task's creator)."""
    Watcher.objects.bulk_create(
        [Watcher(task=task, member=member) for member in members if member is not None], ignore_conflicts=True
    )


def watcher_add(*, task: Task, actor: Member) -> None:
    """The `actor` starts watching `task` (self-service)."""
    watchers_add(task=task, members=[actor])


def watcher_remove(*, task: Task, actor: Member) -> None:
    """The `actor` stops watching `task` (self-service)."""
    Watcher.objects.filter(task=task, member=actor).delete()


def mentioned_members(text: str) -> list[Member]:
    """Active members named in `text` as `@email` or `@handle` (the email's local part or
    the display name without spaces, case-insensitive) when exactly one member has it."""
    handles = {match.lower().rstrip(".") for match in _MENTION.findall(text or "")}
    if not handles:
        return []
    emails = {handle for handle in handles if "@" in handle}
    names = handles - emails
    members = Member.objects.annotate(
        email_lower=Lower("email"),
        local_part=Lower(Left("email", StrIndex("email", Value("@")) - 1)),
        name_handle=Lower(Replace("display_name", Value(" "), Value(""))),
    ).filter(Q(email_lower__in=emails) | Q(local_part__in=names) | Q(name_handle__in=names), is_active=True)
    by_handle: dict[str, dict[int, Member]] = defaultdict(dict)
    for member in members:
        for handle in (member.email_lower, member.local_part, member.name_handle):
            if handle:
                by_handle[handle][member.pk] = member
    found: dict[int, Member] = {}
    for handle in handles:
        matches = by_handle.get(handle, {})
        if len(matches) == 1:
            found.update(matches)
    return sorted(found.values(), key=lambda member: member.pk)


def mentions_record(
    *, task: Task, actor: Member, text: str, previous_text: str = "", where: str = "description"
) -> list[Member]:
    """Notify people newly mentioned in `text` (not already mentioned in
    `previous_text`); they become watchers. Returns them."""
    before = {member.pk for member in mentioned_members(previous_text)} if previous_text else set()
    mentioned = [
        member
        for member in mentioned_members(text)
        if member.pk not in before
        and member.pk != actor.pk
        # Naming someone who cannot see the project tells them nothing (and does not
        # make them a watcher whom the project's members would see).
        and "project.view" in project_permissions(member=member, project=task.project)
    ]
    if mentioned:
        watchers_add(task=task, members=mentioned)
        event_record(
            kind=EventKind.MENTIONED,
            actor=actor,
            task=task,
            payload={"member_ids": [member.pk for member in mentioned], "where": where},
        )
    return mentioned


def assignment_record(*, task: Task, actor: Member, added: Iterable[int], removed: Iterable[int]) -> None:
    added, removed = sorted(set(added)), sorted(set(removed))
    if added:
        watchers_add(task=task, members=Member.objects.filter(pk__in=added))
        event_record(kind=EventKind.ASSIGNED, actor=actor, task=task, payload={"member_ids": added})
    if removed:
        event_record(kind=EventKind.UNASSIGNED, actor=actor, task=task, payload={"member_ids": removed})


def status_change_record(
    *, task: Task, actor: Member, old: str, new: str, old_state: str | None = None, new_state: str | None = None
) -> None:
    """`task` moved to another workflow state: `old`/`new` are the categories (equal for a
    move within one, e.g. In progress -> In review), `old_state`/`new_state` the states'
    names (the texts name them)."""
    payload = {"old": old, "new": new}
    if new_state is not None:
        payload.update(old_state=old_state, new_state=new_state)
    event_record(kind=EventKind.STATUS_CHANGED, actor=actor, task=task, payload=payload)


def unblocked_record(*, blockers: Iterable[int] | QuerySet, actor: Member | None) -> int:
    """Tasks `blockers` (ids, or a queryset of tasks: a subquery) just entered the done
    category: for every task one of them blocks that is still open and has assignees
    other than the actor, write one `task.unblocked` event naming those assignees
    (processing still checks they can see the blocked task — and the blocker, when it
    is in another project — their preferences and mutes). One SELECT for all the
    blocked tasks whatever their number, one INSERT for the events. Returns how many
    events were written. Call in the change's transaction, after the blockers' new
    status is saved."""
    rows = (
        TaskRelation.objects.filter(kind=TaskRelation.Kind.BLOCKS, source__in=blockers)
        .exclude(target__status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        .values(
            "target_id",
            "target__number",
            "target__title",
            "target__project__key",
            "source__number",
            "source__project_id",
            "source__project__key",
        )
        .annotate(assignee_ids=ArrayAgg("target__assignees__id", distinct=True))
        .order_by("target_id", "source_id")
    )
    actor_name = (actor.display_name or actor.email) if actor else ""
    events = []
    for row in rows:
        member_ids = sorted(pk for pk in row["assignee_ids"] if pk is not None and (actor is None or pk != actor.pk))
        if not member_ids:
            continue
        events.append(
            Event(
                kind=EventKind.UNBLOCKED,
                actor=actor,
                task_id=row["target_id"],
                payload={
                    "task_key": f"{row['target__project__key']}-{row['target__number']}",
                    "task_title": row["target__title"],
                    "project_key": row["target__project__key"],
                    "actor_name": actor_name,
                    "blocker_key": f"{row['source__project__key']}-{row['source__number']}",
                    "blocker_project_id": row["source__project_id"],
                    "member_ids": member_ids,
                },
            )
        )
    if not events:
        return 0
    created = Event.objects.bulk_create(events)
    pending_work_mark(due_at=timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_SECONDS))
    dispatch_on_commit(event_id=created[0].pk)  # one message: the worker takes them all
    return len(created)


def comment_record(*, task: Task, actor: Member, comment_id: int, body: str) -> None:
    """The author watches the task from now on; people mentioned get a mention instead
    of a second "comment added" notification."""
    watchers_add(task=task, members=[actor])
    mentioned = mentions_record(task=task, actor=actor, text=body, where="comment")
    excerpt = body if len(body) <= 200 else body[:199] + "…"
    event_record(
        kind=EventKind.COMMENT_ADDED,
        actor=actor,
        task=task,
        payload={"comment_id": comment_id, "excerpt": excerpt, "mentioned_ids": [member.pk for member in mentioned]},
    )


# --- Reading ---------------------------------------------------------------------------


def _unread_key(member_id: int) -> str:
    return f"notifications:unread:{member_id}"


def unread_count(*, member: Member) -> int:
    """Cached per person in the organisation's cache; every change to their
    notifications deletes the entry."""
    key = _unread_key(member.pk)
    cached = cache.get(key)
    if cached is not None:
        return cached
    count = Notification.objects.filter(recipient=member, read_at__isnull=True).count()
    cache.set(key, count, _UNREAD_TTL_SECONDS)
    return count


def unread_count_invalidate(member_ids: Iterable[int]) -> None:
    """Now and after the commit (a reader between the two would cache the old count)."""
    keys = [_unread_key(pk) for pk in member_ids]
    if not keys:
        return
    cache.delete_many(keys)
    schema = connection.schema_name

    def again() -> None:
        with schema_context(schema):
            cache.delete_many(keys)

    transaction.on_commit(again)


def notification_mark(*, notification: Notification, read: bool, actor: Member) -> Notification:
    """Mark one of the `actor`'s own notifications read or unread."""
    if notification.recipient_id != actor.pk:
        raise PermissionDenied(_("This notification is not yours."))
    notification.read_at = (notification.read_at or timezone.now()) if read else None
    Notification.objects.filter(pk=notification.pk).update(read_at=notification.read_at)
    unread_count_invalidate([notification.recipient_id])
    return notification


def notifications_mark_all_read(*, actor: Member) -> int:
    marked = Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
    unread_count_invalidate([actor.pk])
    return marked


# --- Preferences -----------------------------------------------------------------------


def preferences_save(
    *,
    actor: Member,
    kinds: list[dict[str, Any]] | None = None,
    muted_projects: list[Project] | None = None,
    language: str | None = None,
) -> None:
    """Save any of: per-kind channel switches, the muted projects (the whole list), the
    person's language (their account's, used by every organisation): the `actor`'s own."""
    member = actor
    with transaction.atomic():
        for entry in kinds or []:
            if entry["kind"] not in EventKind.values:
                raise ValidationError({"kinds": _("Unknown kind: %(kind)s.") % {"kind": entry["kind"]}})
            Preference.objects.update_or_create(
                member=member,
                kind=entry["kind"],
                defaults={"in_app": entry.get("in_app", True), "email": entry.get("email", True)},
            )
        if muted_projects is not None:
            ProjectMute.objects.filter(member=member).exclude(project__in=muted_projects).delete()
            ProjectMute.objects.bulk_create(
                [ProjectMute(member=member, project=project) for project in muted_projects], ignore_conflicts=True
            )
        if language is not None:
            User.objects.filter(pk=member.user_id).update(language=language)
            Member.objects.filter(pk=member.pk).update(language=language)
            member.language = language


def email_unsubscribe(*, member: Member, kind: str) -> None:
    Preference.objects.update_or_create(member=member, kind=kind, defaults={"email": False})


def due_soon_record(*, now: datetime | None = None) -> int:
    """One "due soon" event per open task whose due date falls within the next
    NOTIFICATIONS_DUE_SOON_HOURS, once per task and due date (a moved due date counts
    again). Returns how many events were written."""
    now = now or timezone.now()
    zone = ZoneInfo(current_organization().time_zone)  # due dates are the organisation's days
    today = timezone.localdate(now, zone)
    horizon = timezone.localdate(now + timedelta(hours=settings.NOTIFICATIONS_DUE_SOON_HOURS), zone)
    tasks = (
        Task.objects.filter(due_date__gte=today, due_date__lte=horizon)
        .exclude(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        .select_related("project")
    )
    keys = {task.pk: f"due_soon:{task.pk}:{task.due_date.isoformat()}" for task in tasks}
    done = set(Event.objects.filter(dedupe_key__in=keys.values()).values_list("dedupe_key", flat=True))
    written = 0
    for task in tasks:
        if keys[task.pk] in done:
            continue
        try:
            with transaction.atomic():
                event_record(
                    kind=EventKind.DUE_SOON,
                    actor=None,
                    task=task,
                    payload={"due_date": task.due_date.isoformat()},
                    dedupe_key=keys[task.pk],
                )
            written += 1
        except IntegrityError:  # a concurrent scan wrote it first
            continue
    return written


# --- Webhooks --------------------------------------------------------------------------


def _webhook_fields(webhook: Webhook) -> dict[str, Any]:
    return {"url": webhook.url, "kinds": list(webhook.kinds), "is_active": webhook.is_active}


def webhook_create(*, url: str, kinds: list[str], actor: Member) -> Webhook:
    """Create a webhook (audited: webhook.created; the secret is never recorded)."""
    url_check(url)
    with transaction.atomic():
        webhook = Webhook.objects.create(
            url=url, kinds=sorted(set(kinds)), secret=secrets.token_hex(32), created_by=actor
        )
        audit_record(
            action="webhook.created", actor=actor, target=audit_target(webhook, url), after=_webhook_fields(webhook)
        )
    return webhook


def webhook_update(*, webhook: Webhook, data: dict[str, Any], actor: Member | None = None) -> Webhook:
    """Change a webhook's url, kinds or is_active (audited: webhook.changed)."""
    previous = _webhook_fields(webhook)
    if "url" in data:
        url_check(data["url"])
        webhook.url = data["url"]
    if "kinds" in data:
        webhook.kinds = sorted(set(data["kinds"]))
    if "is_active" in data:
        webhook.is_active = data["is_active"]
    with transaction.atomic():
        webhook.save()
        before, after = audit_diff(previous, _webhook_fields(webhook))
        if after:
            target = audit_target(webhook, webhook.url)
            audit_record(action="webhook.changed", actor=actor, target=target, before=before, after=after)
    return webhook


def webhook_secret_rotate(*, webhook: Webhook, actor: Member | None = None) -> Webhook:
    """Give the webhook a new signing secret: deliveries from now on (retries included)
    are signed with it, the old one stops verifying at once. Audited:
    webhook.secret_rotated (the secret itself is never recorded)."""
    with transaction.atomic():
        webhook.secret = secrets.token_hex(32)
        webhook.save(update_fields=["secret"])
        audit_record(action="webhook.secret_rotated", actor=actor, target=audit_target(webhook, webhook.url))
    return webhook


def webhook_delete(*, webhook: Webhook, actor: Member | None = None) -> None:
    """Delete a webhook with its delivery log (audited: webhook.deleted)."""
    with transaction.atomic():
        audit_record(
            action="webhook.deleted",
            actor=actor,
            target=audit_target(webhook, webhook.url),
            before=_webhook_fields(webhook),
        )
        webhook.delete()


def billing_past_due_record(*, read_only_from: datetime | None) -> Event:
    """Tell the organisation's owners and admins that a payment failed and when the
    organisation turns read-only (billing calls this, through
    settings.TESSERA_BILLING_PAST_DUE_NOTIFY, in the organisation's schema and in the
    transaction that marks the subscription past due)."""
    organization = current_organization()
    managers = list(
        Member.objects.filter(is_active=True, role__in=MANAGER_ROLES).order_by("pk").values_list("pk", flat=True)
    )
    return event_record(
        kind=EventKind.BILLING_PAST_DUE,
        actor=None,
        payload={
            "member_ids": managers,
            "organization_name": organization.name or organization.slug,
            "read_only_on": timezone.localdate(read_only_from, ZoneInfo(organization.time_zone)).isoformat()
            if read_only_from
            else "",
            "url": "/billing/",
        },
    )
