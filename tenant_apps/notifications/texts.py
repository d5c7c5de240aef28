"""What a notification says, in the reader's language. Texts are rendered when shown
(API, email), from the event's kind and payload, so one event reads right in English
and Russian alike."""

from django.utils import translation
from django.utils.translation import gettext as _

from tenant_apps.notifications.models import Event, EventKind
from tenant_apps.projects.models import state_label
from tenant_apps.reports.kinds import KINDS
from tenant_apps.tasks.models import TaskStatus


def _status_label(value: str) -> str:
    try:
        return str(TaskStatus(value).label)
    except ValueError:
        return value


def event_text(event: Event) -> str:
    """One line for the active language, e.g. "Task WEB-42 was assigned to you"."""
    payload = event.payload
    values = {
        "key": payload.get("task_key", ""),
        "title": payload.get("task_title", ""),
        "actor": payload.get("actor_name") or _("Someone"),
    }
    kind = event.kind
    if kind == EventKind.ASSIGNED:
        return _("Task %(key)s was assigned to you") % values
    if kind == EventKind.UNASSIGNED:
        return _("You were unassigned from task %(key)s") % values
    if kind == EventKind.STATUS_CHANGED:
        if payload.get("new_state"):  # the workflow states' names (events before them: the categories)
            values.update(old=state_label(payload.get("old_state") or ""), new=state_label(payload["new_state"]))
        else:
            values.update(old=_status_label(payload.get("old", "")), new=_status_label(payload.get("new", "")))
        return _("%(actor)s moved task %(key)s from “%(old)s” to “%(new)s”") % values
    if kind == EventKind.COMMENT_ADDED:
        return _("%(actor)s commented on task %(key)s") % values
    if kind == EventKind.MENTIONED:
        return _("%(actor)s mentioned you in task %(key)s") % values
    if kind == EventKind.UNBLOCKED:
        values["blocker"] = payload.get("blocker_key", "")
        return _("%(blocker)s, which blocked %(key)s, is done") % values
    if kind == EventKind.DUE_SOON:
        values["date"] = payload.get("due_date", "")
        return _("Task %(key)s is due on %(date)s") % values
    if kind == EventKind.REPORT_READY:
        report_kind = KINDS.get(payload.get("report_kind", ""))
        values["name"] = str(report_kind.title) if report_kind else payload.get("report_kind", "")
        return _("Your report “%(name)s” is ready") % values
    if kind == EventKind.BILLING_PAST_DUE:
        values["date"] = payload.get("read_only_on", "")
        values["organization"] = payload.get("organization_name", "")
        return _("Payment for %(organization)s failed: update the payment method by %(date)s to keep editing") % values
    return str(EventKind(kind).label) if kind in EventKind.values else kind


def event_url(event: Event) -> str:
    """Where the notification leads, as a path on the organisation's domain."""
    key = event.payload.get("task_key")
    if key:
        return f"/tasks/{key}/"
    return event.payload.get("url", "/")


def event_text_in(event: Event, language: str) -> str:
    with translation.override(language):
        return event_text(event)
