"""The Reports page (/reports/): request a report (kind, period, filters, format), watch
its progress bar while the worker generates it (htmx polls the row), download it; my
reports, and for owners and admins everyone's; the weekly schedule. The same services,
selectors and door as the API (report_request, reports_visible_to, access_report,
report_schedule_set/delete); the download link is the API's authorised download."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shared_apps.tenants.models import MANAGER_ROLES
from tenant_apps.members.models import Member
from tenant_apps.projects.permissions import member_for_request
from tenant_apps.reports.kinds import KINDS
from tenant_apps.reports.models import Report, ReportSchedule
from tenant_apps.reports.permissions import access_report
from tenant_apps.reports.selectors import member_may_request_reports, report_scope, reports_visible_to
from tenant_apps.reports.services.requests import report_delete, report_request
from tenant_apps.reports.services.schedules import report_schedule_delete, report_schedule_set
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required

# The page lists the newest reports; older ones are in the API's paginated list.
LIST_LIMIT = 50


class ReportRequestForm(forms.Form):
    """Shapes only; report_request validates the rest (period, project access, plan)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Report.Kind.choices)
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=Report.Format.choices, initial="csv")
    project = forms.CharField(label=gettext_lazy("Project"), required=False, max_length=10)
    assignee = forms.CharField(label=gettext_lazy("Assignee"), required=False, max_length=12)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword: the period's fields are added by name.
        self.fields["from"] = forms.CharField(label=gettext_lazy("From"), required=False, max_length=40)
        self.fields["to"] = forms.CharField(label=gettext_lazy("To (exclusive)"), required=False, max_length=40)


class ReportScheduleForm(forms.Form):
    weekday = forms.TypedChoiceField(
        label=gettext_lazy("Weekday"),
        choices=[("", gettext_lazy("No weekly report")), *ReportSchedule.Weekday.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=Report.Format.choices, initial="xlsx")
    recipients = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Also send it to"), queryset=Member.objects.none(), required=False
    )

    def __init__(self, *args, member: Member, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Offered: the other active members (report_schedule_set decides who qualifies).
        self.fields["recipients"].queryset = (
            Member.objects.filter(is_active=True).exclude(pk=member.pk).order_by("display_name", "email")
        )


def _params(form: ReportRequestForm) -> dict:
    """The filters the chosen kind takes, those given (the others do not apply to it)."""
    kind = KINDS[form.cleaned_data["kind"]]
    return {name: form.cleaned_data[name] for name in kind.params if form.cleaned_data.get(name, "") != ""}


def _context(request, member: Member, *, form=None, schedule_form=None) -> dict:
    manager = member.role in MANAGER_ROLES
    everyone = manager and request.GET.get("who") == "all"
    reports = reports_visible_to(member).defer("summary", "params_digest")
    if not everyone:
        reports = reports.filter(requested_by=member)
    schedule = ReportSchedule.objects.filter(member=member).first()
    return {
        "nav": "reports",
        "form": form or ReportRequestForm(),
        "schedule_form": schedule_form
        or ReportScheduleForm(
            member=member,
            initial={
                "weekday": schedule.weekday,
                "format": schedule.format,
                "recipients": [person.pk for person in schedule.recipients.all()],
            }
            if schedule
            else {"format": "xlsx"},
        ),
        "schedule": schedule,
        "may_request": member_may_request_reports(member),
        "projects": list(report_scope(member).order_by("key")),
        "people": list(Member.objects.filter(is_active=True).order_by("display_name", "email")),
        "kinds": [{"code": kind.code, "title": kind.title, "params": kind.params} for kind in KINDS.values()],
        "reports": list(reports[:LIST_LIMIT]),
        "is_manager": manager,
        "everyone": everyone,
    }


@member_required
def reports_page(request):
    """GET: the request form, the reports and the schedule. POST: request a report."""
    member = member_for_request(request)
    form = ReportRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            report, created = report_request(
                actor=member,
                kind=form.cleaned_data["kind"],
                format=form.cleaned_data["format"],
                params=_params(form),
                time_zone=request.tenant.time_zone,
            )
            if created:
                messages.success(request, _("Report requested; it is being generated."))
            else:
                messages.info(request, _("The same report is already under way."))
            return redirect(f"{request.path}#report-{report.pk}")
    return render(
        request,
        "reports/reports.html",
        _context(request, member, form=form),
        status=400 if request.method == "POST" else 200,
    )


@member_required
def report_row(request, report_id: int):
    """htmx: one report's row (its progress while queued or running, then the download)."""
    report = access_report(member=member_for_request(request), report_id=report_id)
    return render(request, "reports/reports.html#report-row", {"report": report})


@member_required
@require_POST
def report_delete_page(request, report_id: int):
    """POST: delete the report and its file (your own; owners and admins any)."""
    member = member_for_request(request)
    report_delete(report=access_report(member=member, report_id=report_id), actor=member)
    messages.success(request, _("Report deleted."))
    return redirect("reports")


@member_required
@require_POST
def report_schedule_page(request):
    """POST weekday (empty: none), format: set or stop your weekly report."""
    member = member_for_request(request)
    form = ReportScheduleForm(request.POST, member=member)
    if form.is_valid():
        weekday = form.cleaned_data["weekday"]
        with errors_into(form):
            if weekday is None:
                report_schedule_delete(actor=member)
                messages.success(request, _("No more weekly reports."))
            else:
                report_schedule_set(
                    actor=member,
                    weekday=weekday,
                    format=form.cleaned_data["format"],
                    recipients=list(form.cleaned_data["recipients"]),
                )
                messages.success(
                    request,
                    _("You will get the weekly report every %(day)s.") % {"day": ReportSchedule.Weekday(weekday).label},
                )
            return redirect("reports")
    return render(request, "reports/reports.html", _context(request, member, schedule_form=form), status=400)
