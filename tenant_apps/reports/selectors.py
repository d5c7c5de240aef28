"""Reads of reports. Call inside the organisation's schema."""

from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.tenants.models import MANAGER_ROLES, Organization
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.selectors import projects_where_member_may
from tenant_apps.reports.models import MonthlyUsage, Report


def report_scope(member: Member | None) -> QuerySet[Project]:
    """The projects a report requested by `member` may read: those they can see and in
    which they hold `report.create` (all for owners and admins). Evaluated when the report
    is generated, so access removed in between is respected."""
    return projects_where_member_may(member, "report.create")


def member_may_request_reports(member: Member | None) -> bool:
    return member is not None and member.is_active and report_scope(member).exists()


def reports_visible_to(member: Member | None) -> QuerySet[Report]:
    """Own reports; every report of the organisation for owners and admins."""
    if member is None or not member.is_active:
        return Report.objects.none()
    reports = Report.objects.select_related("requested_by")
    if member.role in MANAGER_ROLES:
        return reports
    return reports.filter(requested_by=member)


def month_start(moment: datetime | None = None) -> date:
    """The first day of the current calendar month (UTC), the key of MonthlyUsage."""
    return (moment or timezone.now()).date().replace(day=1)


def reports_this_month_count(organization: Organization) -> int:
    """Usage of the plan's "reports per month" (call in the organisation's schema)."""
    used = MonthlyUsage.objects.filter(month=month_start()).values_list("reports_requested", flat=True).first()
    return used or 0
