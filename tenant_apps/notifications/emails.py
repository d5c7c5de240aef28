"""The email channel: one message per notification, or one digest for several that
arrived within the window; localized; retried with backoff, then marked failed."""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from shared_apps.accounts.models import User
from shared_apps.core.models import DeliveryFailure
from shared_apps.tenants.models import Organization
from shared_apps.tenants.selectors import current_organization
from shared_apps.tenants.services import organization_url
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import TASKLESS_KINDS, DeliveryStatus, EmailDelivery, Event
from tenant_apps.notifications.texts import event_text, event_url
from tenant_apps.projects.permissions import project_permissions, project_permissions_many

logger = logging.getLogger(__name__)

_UNSUBSCRIBE_SALT = "tessera.notifications.unsubscribe"


def language_for(
    member: Member, *, account_language: str | None = None, organization: Organization | None = None
) -> str:
    """The person's language (their account setting: `account_language` when the caller
    read it already), else the organisation's (`organization`: the current one, when the
    caller has it), else the site default."""
    if account_language is None:
        account_language = User.objects.filter(pk=member.user_id).values_list("language", flat=True).first()
    chosen = account_language or member.language
    if not chosen:
        chosen = (organization or current_organization()).language or settings.LANGUAGE_CODE
    supported = {code for code, _name in settings.LANGUAGES}
    return chosen if chosen in supported else settings.LANGUAGE_CODE


def unsubscribe_token(*, member: Member, kind: str) -> str:
    """A signed, schema-bound token: the link works without logging in and only in this
    organisation."""
    return signing.dumps({"s": connection.schema_name, "m": member.pk, "k": kind}, salt=_UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> tuple[str, int, str] | None:
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
        return data["s"], int(data["m"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def task_link(event: Event) -> str:
    """The absolute link of a notification: the task's page, or what the event names."""
    return organization_url(current_organization(), event_url(event))


def _message(
    member: Member, events: list[Event], mail_connection=None, organization: Organization | None = None
) -> EmailMultiAlternatives:
    organization = organization or current_organization()
    # Per kind, not per item: a digest of many events has only a few kinds.
    kinds = {event.kind: event for event in events}
    unsubscribe_urls = {
        kind: organization_url(
            organization,
            reverse("notifications-unsubscribe", kwargs={"token": unsubscribe_token(member=member, kind=kind)}),
        )
        for kind in kinds
    }
    kind_labels = {kind: event.get_kind_display() for kind, event in kinds.items()}
    items = [
        {
            "text": event_text(event),
            "excerpt": event.payload.get("excerpt", ""),
            "title": event.payload.get("task_title", ""),
            "url": organization_url(organization, event_url(event)),
            "unsubscribe_url": unsubscribe_urls[event.kind],
            "kind_label": kind_labels[event.kind],
        }
        for event in events
    ]
    if len(items) == 1:
        subject = _subject_line(items[0]["text"])
    else:
        subject = ngettext(
            "%(count)d new notification in %(organization)s",
            "%(count)d new notifications in %(organization)s",
            len(items),
        ) % {"count": len(items), "organization": organization.name or organization.slug}
    context = {
        "member": member,
        "organization": organization,
        "items": items,
        "digest": len(items) > 1,
        "language": translation.get_language(),
        "preferences_url": organization_url(organization, "/api/v1/notifications/preferences/"),
    }
    message = EmailMultiAlternatives(
        subject=_subject_line(f"[{organization.name or organization.slug}] {subject}"),
        body=render_to_string("notifications/email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[member.email],
        headers={
            # RFC 8058 one-click unsubscribe from the (first) kind of this message.
            "List-Unsubscribe": f"<{items[0]['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        connection=mail_connection,
    )
    message.attach_alternative(render_to_string("notifications/email/notification.html", context), "text/html")
    return message


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def _still_visible(member: Member, event: Event, seen: dict[int, bool] | None = None) -> bool:
    """Whether `member` may still read about `event` when the email goes out: active,
    and able to see the task's project (the task may have been deleted or moved, or
    their access removed, since the event was processed). `seen` remembers the answer
    per project across one message's events."""
    if not member.is_active:
        return False
    if event.kind in TASKLESS_KINDS:
        return True
    if event.task_id is None:
        return False
    seen = {} if seen is None else seen
    project = event.task.project
    if project.pk not in seen:
        seen[project.pk] = "project.view" in project_permissions(member=member, project=project)
    return seen[project.pk]


def _subject_line(text: str) -> str:
    # Names come from people: a line break in one would make the header invalid.
    return " ".join(text.split())


# People per transaction when the emails of a batch go out: their due rows are locked,
# sent and marked with one query each way for all of them. A worker killed half-way
# through a chunk has sent messages whose rows roll back to pending: they go out again
# (at most this many people mailed twice), never lost.
EMAIL_CHUNK = 20


def deliveries_send_many(member_ids: list[int]) -> dict[int, float]:
    """`deliveries_send` for several people (the emails of a batch of events), with what
    every message needs read once: the organisation, the people's account languages (two
    queries), one connection to the mail server; the people in chunks of EMAIL_CHUNK,
    each chunk's rows locked, read, checked (one cache round trip for the permissions),
    sent and marked in one transaction. Returns {member id: seconds until the retry} for
    those whose send failed."""
    organization = current_organization()
    user_ids = dict(Member.objects.filter(pk__in=member_ids).values_list("pk", "user_id"))
    languages = dict(User.objects.filter(pk__in=user_ids.values()).values_list("pk", "language"))
    accounts = {member_id: languages.get(user_id, "") for member_id, user_id in user_ids.items()}
    mail_connection = get_connection()
    try:
        mail_connection.open()
    except Exception:  # each send opens it again, fails and is retried like any failed send
        logger.warning("could not open the mail connection", exc_info=True)
    retries = {}
    try:
        for start in range(0, len(member_ids), EMAIL_CHUNK):
            retries.update(
                _send_chunk(
                    member_ids[start : start + EMAIL_CHUNK],
                    accounts=accounts,
                    organization=organization,
                    mail_connection=mail_connection,
                )
            )
    finally:
        mail_connection.close()
    return retries


def deliveries_send(member_id: int, *, account_language: str | None = None, mail_connection=None) -> float | None:
    """Send every due email of one person as one message. Returns the seconds until a
    retry is due when sending failed (the caller schedules it), else None."""
    accounts = None if account_language is None else {member_id: account_language}
    return _send_chunk([member_id], accounts=accounts, mail_connection=mail_connection).get(member_id)


def _send_chunk(
    member_ids: list[int],
    *,
    accounts: dict[int, str | None] | None = None,
    organization: Organization | None = None,
    mail_connection=None,
) -> dict[int, float]:
    """Send each person's due emails as one message (a digest when several), in one
    transaction for them all; {member id: seconds until the retry} for failed sends.
    `accounts`: {member id: account language}, when the caller read them."""
    now = timezone.now()
    with transaction.atomic():
        # Only the delivery rows are locked (FOR NO KEY UPDATE OF the delivery table), so
        # the event processing that inserts rows referring to these people or events
        # never waits on a send. SKIP LOCKED: a concurrent run (the countdown task and
        # the sweep) takes nothing twice; rows of a batch waiting for its window are left.
        due = list(
            EmailDelivery.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
            .filter(recipient_id__in=member_ids, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .select_related("event__task__project", "recipient")
            .order_by("recipient_id", "event_id")
        )
        if not due:
            return {}
        by_member: dict[int, list[EmailDelivery]] = defaultdict(list)
        for delivery in due:
            by_member[delivery.recipient_id].append(delivery)
        # Who may still see which project, for the whole chunk in one cache round trip.
        permissions = project_permissions_many(
            pairs={
                (delivery.recipient, delivery.event.task.project)
                for delivery in due
                if delivery.recipient.is_active and delivery.event.kind not in TASKLESS_KINDS and delivery.event.task_id
            }
        )
        stale, sent, retries = [], [], {}
        for member_id in member_ids:
            rows = by_member.get(member_id)
            if not rows:
                continue
            member = rows[0].recipient
            seen = {
                project_id: "project.view" in codes
                for (pair_member_id, project_id), codes in permissions.items()
                if pair_member_id == member_id
            }
            visible = [delivery for delivery in rows if _still_visible(member, delivery.event, seen)]
            visible_ids = {delivery.pk for delivery in visible}
            stale += [delivery.pk for delivery in rows if delivery.pk not in visible_ids]
            if not visible:
                continue
            try:
                account_language = None if accounts is None else accounts.get(member_id) or ""
                language = language_for(member, account_language=account_language, organization=organization)
                with translation.override(language):
                    _message(member, [delivery.event for delivery in visible], mail_connection, organization).send()
            except Exception as exc:  # SMTP and template errors alike: retry, then fail visibly
                retry_in = _failed(member, visible, f"{type(exc).__name__}: {exc}"[:2000], now)
                if retry_in is not None:
                    retries[member_id] = retry_in
                continue
            sent += [delivery.pk for delivery in visible]
            logger.info("sent %d notification(s) by email to member %s", len(visible), member_id)
        if stale:
            EmailDelivery.objects.filter(pk__in=stale).update(
                status=DeliveryStatus.SKIPPED, last_error="The recipient can no longer see this."
            )
        if sent:
            EmailDelivery.objects.filter(pk__in=sent).update(
                status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
            )
    return retries


def _failed(member: Member, due: list[EmailDelivery], error: str, now) -> float | None:
    """Count the attempt on each row; rows out of attempts are marked failed (and logged
    for platform staff), the others retried with backoff. Returns seconds to the retry."""
    ids = [delivery.pk for delivery in due]
    EmailDelivery.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1, last_error=error)
    exhausted = list(
        EmailDelivery.objects.filter(pk__in=ids, attempts__gte=settings.NOTIFICATIONS_MAX_ATTEMPTS).values_list(
            "pk", "event__kind", "attempts"
        )
    )
    if exhausted:
        EmailDelivery.objects.filter(pk__in=[pk for pk, _kind, _attempts in exhausted]).update(
            status=DeliveryStatus.FAILED
        )
        DeliveryFailure.objects.create(
            schema_name=connection.schema_name,
            channel="email",
            target=member.email,
            kinds=sorted({kind for _pk, kind, _attempts in exhausted}),
            attempts=max(attempts for _pk, _kind, attempts in exhausted),
            error=error,
        )
        logger.error("email to member %s failed for good: %s", member.pk, error)
    retrying = [delivery for delivery in due if delivery.pk not in {pk for pk, _kind, _attempts in exhausted}]
    if not retrying:
        return None
    attempts = min(delivery.attempts for delivery in retrying) + 1
    retry_at = now + backoff(attempts)
    EmailDelivery.objects.filter(pk__in=[delivery.pk for delivery in retrying]).update(next_attempt_at=retry_at)
    logger.warning("email to member %s failed (attempt %d), retry at %s: %s", member.pk, attempts, retry_at, error)
    return (retry_at - now).total_seconds()
