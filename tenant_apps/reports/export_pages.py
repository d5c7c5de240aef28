"""Report pages: the list's Export button (a task_list report of the list's filters) and
the page that follows the report until its file is ready. The same services and doors
as the API (report_request, access_report); the file is downloaded through the API's
authorised download view."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ServiceRefusal
from tenant_apps.projects.permissions import access_project, member_for_request
from tenant_apps.reports.models import Report
from tenant_apps.reports.permissions import access_report
from tenant_apps.reports.services.requests import report_request
from tenant_apps.workspace.views import member_required

EXPORT_FORMATS = (Report.Format.CSV, Report.Format.XLSX)


def _back(request, project_key: str) -> str:
    return reverse("task-list", args=[project_key]) if project_key else reverse("task-list-all")


@member_required
@require_POST
def task_list_export(request):
    """Export the list as it is filtered (`filters` = its query string, `project` = its
    key or empty for all tasks) in `format` (csv or xlsx)."""
    member = member_for_request(request)
    key = request.POST.get("project", "").strip().upper()
    if key:
        access_project(member=member, key=key)  # 404 for a project the member cannot see
    form_format = request.POST.get("format", "")
    params = {"filters": request.POST.get("filters", "")}
    if key:
        params["project"] = key
    message = None
    status = 400
    if form_format not in EXPORT_FORMATS:
        message = _("Choose CSV or XLSX.")
    else:
        try:
            report, _created = report_request(
                actor=member, kind=Report.Kind.TASK_LIST, format=form_format, params=params,
                time_zone=request.tenant.time_zone,
            )  # fmt: skip
        except ValidationError as exc:
            message = (
                " ".join(m for ms in exc.message_dict.values() for m in ms)
                if hasattr(exc, "error_dict")
                else " ".join(exc.messages)
            )
        except PermissionDenied as exc:
            message, status = str(exc) or _("Your roles do not allow reports."), 403
        except ServiceRefusal as refusal:
            message, status = refusal.message, refusal.status_code
        else:
            return redirect("report-page", report_id=report.pk)
    context = {"message": message, "back": _back(request, key), "nav": "tasks"}
    return render(request, "reports/report_page.html", context, status=status)


@member_required
def report_page(request, report_id: int):
    """A report's state (htmx polls the `state` fragment until it is done) and, once
    ready, its download link."""
    report = access_report(member=member_for_request(request), report_id=report_id)
    key = report.params.get("project", "")
    context = {
        "report": report,
        "back": _back(request, key),
        "download_url": reverse("api-report-download", args=[report.pk]),
        "poll_url": reverse("report-page", args=[report.pk]),
        "nav": "tasks",
    }
    if request.htmx and request.htmx.target == "report-state":
        return render(request, "reports/report_page.html#state", context)
    return render(request, "reports/report_page.html", context)
