"""The email channel: one message per notification, or one digest for several that
arrived within the window; localized; retried with backoff, then marked failed."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from shared_apps.core.models import DeliveryFailure
from shared_apps.tenants.models import Organization
from shared_apps.tenants.services import organization_url
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import DeliveryStatus, EmailDelivery, Event
from tenant_apps.notifications.texts import event_text, event_url

logger = logging.getLogger(__name__)

_UNSUBSCRIBE_SALT = "tessera.notifications.unsubscribe"


def current_organization() -> Organization:
    """The organisation whose schema is active: the worker's tenant (set by
    tenant-schemas-celery), or looked up when a bare `schema_context` is active."""
    tenant = connection.tenant
    if isinstance(tenant, Organization):
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)


def language_for(member: Member) -> str:
    """The person's language (their account setting), else the organisation's, else
    the site default."""
    from shared_apps.accounts.models import User

    chosen = User.objects.filter(pk=member.user_id).values_list("language", flat=True).first() or member.language
    if not chosen:
        chosen = current_organization().language or settings.LANGUAGE_CODE
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


def _message(member: Member, events: list[Event]) -> EmailMultiAlternatives:
    organization = current_organization()
    items = [
        {
            "text": event_text(event),
            "excerpt": event.payload.get("excerpt", ""),
            "title": event.payload.get("task_title", ""),
            "url": task_link(event),
            "unsubscribe_url": organization_url(
                organization,
                reverse(
                    "notifications-unsubscribe", kwargs={"token": unsubscribe_token(member=member, kind=event.kind)}
                ),
            ),
            "kind_label": event.get_kind_display(),
        }
        for event in events
    ]
    if len(items) == 1:
        subject = items[0]["text"]
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
        "preferences_url": organization_url(organization, "/api/v1/notifications/preferences/"),
    }
    message = EmailMultiAlternatives(
        subject=f"[{organization.name or organization.slug}] {subject}",
        body=render_to_string("notifications/email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[member.email],
        headers={
            # RFC 8058 one-click unsubscribe from the (first) kind of this message.
            "List-Unsubscribe": f"<{items[0]['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string("notifications/email/notification.html", context), "text/html")
    return message


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def deliveries_send(member_id: int) -> float | None:
    """Send every due email of one person as one message. Returns the seconds until a
    retry is due when sending failed (the caller schedules it), else None."""
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED: a concurrent run (the countdown task and the sweep) takes nothing
        # twice. Rows of a batch waiting for its window are left for their own run.
        due = list(
            EmailDelivery.objects.select_for_update(skip_locked=True)
            .filter(recipient_id=member_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .select_related("event", "recipient")
            .order_by("event_id")
        )
        if not due:
            return None
        member = due[0].recipient
        ids = [delivery.pk for delivery in due]
        try:
            with translation.override(language_for(member)):
                _message(member, [delivery.event for delivery in due]).send()
        except Exception as exc:  # SMTP and template errors alike: retry, then fail visibly
            attempts = max(delivery.attempts for delivery in due) + 1
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
                EmailDelivery.objects.filter(pk__in=ids).update(
                    status=DeliveryStatus.FAILED, attempts=attempts, last_error=error
                )
                DeliveryFailure.objects.create(
                    schema_name=connection.schema_name,
                    channel="email",
                    target=member.email,
                    kinds=sorted({delivery.event.kind for delivery in due}),
                    attempts=attempts,
                    error=error,
                )
                logger.error("email to member %s failed for good after %d attempts: %s", member_id, attempts, error)
                return None
            retry_at = now + backoff(attempts)
            EmailDelivery.objects.filter(pk__in=ids).update(
                attempts=attempts, last_error=error, next_attempt_at=retry_at
            )
            logger.warning(
                "email to member %s failed (attempt %d), retry at %s: %s", member_id, attempts, retry_at, error
            )
            return (retry_at - now).total_seconds()
        EmailDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
        )
    logger.info("sent %d notification(s) by email to member %s", len(ids), member_id)
    return None
