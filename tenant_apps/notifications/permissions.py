"""The doors to notifications and webhooks (`access_notification`, `access_webhook`).
Same convention as tenant_apps/projects/permissions.py: keyword-only, `member` (or None),
the object's id; Http404 when missing or not the member's, PermissionDenied when the
member's organisation role does not allow the action."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Notification, Webhook
from tenant_apps.projects.permissions import org_manager_require

WEBHOOK_MANAGERS = _("Only owners and admins manage webhooks.")


def access_notification(*, member: Member | None, notification_id: int) -> Notification:
    """One of `member`'s own notifications (with its event's actor)."""
    notification = (
        Notification.objects.select_related("event__actor").filter(pk=notification_id, recipient=member).first()
        if member is not None
        else None
    )
    if notification is None:
        raise Http404()
    return notification


def access_webhook(*, member: Member | None, webhook_id: int) -> Webhook:
    """An organisation webhook: owners and admins only (403 for anyone else, before the
    lookup, as for every organisation-level resource), 404 for an unknown id."""
    org_manager_require(member=member, message=WEBHOOK_MANAGERS)
    webhook = Webhook.objects.filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404()
    return webhook
