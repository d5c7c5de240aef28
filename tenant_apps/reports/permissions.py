"""The door to reports (`access_report`). Same convention as
tenant_apps/projects/permissions.py: keyword-only, `member` (or None), the report's id;
Http404 when missing or not visible to the member (also for another tenant's ids, which
do not exist in this schema)."""

from django.http import Http404

from tenant_apps.members.models import Member
from tenant_apps.reports.models import Report
from tenant_apps.reports.selectors import reports_visible_to


def access_report(*, member: Member | None, report_id: int) -> Report:
    """The report if `member` may see it: their own; any of the organisation's for owners
    and admins (who may also delete any: report_delete decides)."""
    report = reports_visible_to(member).filter(pk=report_id).first()
    if report is None:
        raise Http404()
    return report
