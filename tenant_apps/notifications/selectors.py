"""Reads of notifications shared by the API and the inbox page."""

from django.db.models import Q, QuerySet

from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Notification
from tenant_apps.projects.selectors import projects_visible_to


def notification_list(*, member: Member | None, unread: bool | None = None) -> QuerySet[Notification]:
    """`member`'s notifications, newest first, with their events and actors. Only what the
    reader may still see: access removed since (a project role taken away, or removed and
    invited back as a guest) hides those notifications too. `unread` True/False narrows
    to unread/read ones."""
    notifications = (
        Notification.objects.filter(recipient=member)
        .filter(Q(event__task__isnull=True) | Q(event__task__project__in=projects_visible_to(member)))
        .select_related("event__actor")
        .order_by("-id")
    )
    if unread is not None:
        notifications = notifications.filter(read_at__isnull=unread)
    return notifications
