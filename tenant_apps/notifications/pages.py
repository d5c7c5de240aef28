"""The Inbox page and the bell in the top bar: the same selector and services as
/api/v1/notifications/."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenant_apps.notifications.models import EventKind
from tenant_apps.notifications.permissions import access_notification
from tenant_apps.notifications.selectors import notification_list, preferences_get
from tenant_apps.notifications.services import (
    notification_mark,
    notifications_mark_all_read,
    preferences_save,
    unread_count,
)
from tenant_apps.notifications.texts import event_text, event_url
from tenant_apps.projects.permissions import member_for_request
from tenant_apps.projects.selectors import projects_visible_to
from tenant_apps.workspace.views import member_required

INBOX_PAGE_SIZE = 50


@member_required
def inbox(request):
    """Notifications newest first; ?unread=1 shows only unread ones."""
    member = member_for_request(request)
    only_unread = request.GET.get("unread") == "1"
    page = Paginator(notification_list(member=member, unread=True if only_unread else None), INBOX_PAGE_SIZE)
    current = page.get_page(request.GET.get("page"))
    items = [
        {"notification": n, "text": event_text(n.event), "url": event_url(n.event), "unread": n.read_at is None}
        for n in current.object_list
    ]
    context = {"items": items, "page": current, "only_unread": only_unread, "nav": "inbox"}
    if request.htmx and request.htmx.target == "inbox-list":
        return render(request, "notifications/inbox.html#inbox-list", context)
    return render(request, "notifications/inbox.html", context)


@member_required
def bell(request):
    """The bell with its unread count (cached: no SQL on a hit), polled by every page."""
    return render(request, "workspace/bell.html", {"count": unread_count(member=member_for_request(request))})


def _back(request) -> str:
    target = request.POST.get("next") or "/inbox/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/inbox/"


@member_required
@require_POST
def notification_read(request, notification_id: int):
    """Mark one read (read=0: unread again); open=1 goes on to what it is about."""
    member = member_for_request(request)
    notification = access_notification(member=member, notification_id=notification_id)
    notification_mark(notification=notification, read=request.POST.get("read", "1") == "1", actor=member)
    if request.POST.get("open") == "1":
        return HttpResponseRedirect(event_url(notification.event))
    if request.htmx:
        response = inbox(request)
        response["HX-Trigger"] = "tessera:read"
        return response
    return redirect(_back(request))


@member_required
@require_POST
def notifications_read_all(request):
    notifications_mark_all_read(actor=member_for_request(request))
    if request.htmx:
        response = inbox(request)
        response["HX-Trigger"] = "tessera:read"
        return response
    return redirect(_back(request))


@member_required
def preferences_page(request):
    """Account, Notifications (this organisation's): per kind of event, in-app and email
    on or off, and the projects muted entirely. The same selector and service as
    /api/v1/notifications/preferences/. POST sends every switch (a plain form: an
    unticked box is off)."""
    member = member_for_request(request)
    projects = list(projects_visible_to(member).order_by("key"))
    errors: list[str] = []
    if request.method == "POST":
        by_key = {project.key: project for project in projects}
        muted_keys = request.POST.getlist("muted")
        unknown = sorted(set(muted_keys) - set(by_key))
        if unknown:
            errors.append(_("No such project: %(keys)s.") % {"keys": ", ".join(unknown)})
        else:
            kinds = [
                {
                    "kind": kind.value,
                    "in_app": request.POST.get(f"in_app:{kind.value}") == "on",
                    "email": request.POST.get(f"email:{kind.value}") == "on",
                }
                for kind in EventKind
            ]
            preferences_save(actor=member, kinds=kinds, muted_projects=[by_key[key] for key in muted_keys])
            messages.success(request, _("Your notification settings are saved."))
            return redirect("account-notifications")
    preferences = preferences_get(member=member)
    muted = set(preferences["muted_projects"])
    context = {
        "kinds": preferences["kinds"],
        "projects": [{"project": project, "muted": project.key in muted} for project in projects],
        "errors": errors,
        "nav": "account",
    }
    return render(request, "notifications/preferences.html", context, status=400 if errors else 200)
