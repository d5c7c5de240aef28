"""Reads of notifications shared by the API and the inbox page."""

from django.db.models import Q, QuerySet

from shared_apps.accounts.models import User
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import EventKind, Notification, Preference, ProjectMute
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


def preferences_get(*, member: Member) -> dict:
    """`member`'s notification settings (the API's and the account page's): per kind
    whether in-app and email are on (no row: both on), the muted projects' keys, and
    their account's language."""
    chosen = {pref.kind: pref for pref in Preference.objects.filter(member=member)}
    return {
        "language": User.objects.filter(pk=member.user_id).values_list("language", flat=True).first() or "",
        "kinds": [
            {
                "kind": kind.value,
                "label": str(kind.label),
                "in_app": chosen[kind.value].in_app if kind.value in chosen else True,
                "email": chosen[kind.value].email if kind.value in chosen else True,
            }
            for kind in EventKind
        ],
        "muted_projects": sorted(ProjectMute.objects.filter(member=member).values_list("project__key", flat=True)),
    }
