"""Requesting and deleting reports (the requester's writes)."""

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.celery import enqueue_on_commit
from shared_apps.audit.services import audit_record, audit_target
from shared_apps.billing.limits import limit_check
from shared_apps.core.storage import files_delete_on_commit
from shared_apps.tenants.pending import pending_work_mark
from tenant_apps.members.models import Member
from tenant_apps.reports.kinds import KINDS, params_clean
from tenant_apps.reports.models import MonthlyUsage, Report
from tenant_apps.reports.selectors import member_may_request_reports, month_start
from tenant_apps.reports.services.generation import ACTIVE
from tenant_apps.reports.task_names import REPORT_GENERATE

logger = logging.getLogger(__name__)


def _digest(kind: str, format: str, params: dict[str, Any]) -> str:
    canonical = json.dumps({"kind": kind, "format": format, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _enqueue(report: Report) -> None:
    enqueue_on_commit(REPORT_GENERATE, args=[report.pk])


def report_request(
    *, actor: Member, kind: str, format: str, params: dict[str, Any], time_zone: str
) -> tuple[Report, bool]:
    """Request a report as `actor`: validated, stored `queued`, generated in the
    background (audited: report.requested). Returns (report, created): the same request (kind, format, parameters)
    while one is queued or running returns that one, created False.

    `params` are the request's raw parameters (`from`, `to`, `project`, `assignee`,
    `label`, as the kind takes them); dates are read in `time_zone`, the organisation's.
    Raises ValidationError naming the field, PermissionDenied without `report.create`.
    """
    if kind not in KINDS:
        raise ValidationError({"kind": _("Unknown report kind; one of: %(kinds)s.") % {"kinds": ", ".join(KINDS)}})
    if format not in Report.Format.values:
        raise ValidationError({"format": _("Unknown format; one of: %(f)s.") % {"f": ", ".join(Report.Format.values)}})
    if not member_may_request_reports(actor):
        raise PermissionDenied(_("Your roles do not allow reports (report.create) in any project."))
    clean = params_clean(KINDS[kind], params, member=actor, time_zone=time_zone)
    digest = _digest(kind, format, clean)
    active = Report.objects.filter(requested_by=actor, params_digest=digest, status__in=ACTIVE)
    existing = active.first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            # The plan's monthly allowance (402 when used up); the subscription row stays
            # locked until this transaction ends, so concurrent requests count in turn.
            limit_check(None, "reports_per_month", adding=1)
            report = Report.objects.create(
                requested_by=actor,
                kind=kind,
                format=format,
                params=clean,
                params_digest=digest,
                dispatched_at=now,
                expires_at=now + timedelta(days=settings.TESSERA_REPORT_RETENTION_DAYS),
            )
            pending_work_mark(due_at=now + timedelta(seconds=settings.TESSERA_REPORT_REDISPATCH_SECONDS))
            month = month_start(now)
            MonthlyUsage.objects.bulk_create([MonthlyUsage(month=month)], ignore_conflicts=True)
            MonthlyUsage.objects.filter(month=month).update(reports_requested=F("reports_requested") + 1)
            audit_record(
                action="report.requested",
                actor=actor,
                target=audit_target(report, f"{kind}.{format}"),
                after={"kind": kind, "format": format, "params": clean},
            )
    except IntegrityError:
        # The same request from a concurrent call won the partial unique constraint.
        existing = active.first()
        if existing is None:
            raise
        return existing, False
    _enqueue(report)
    return report, True


def report_delete(*, report: Report, actor: Member) -> None:
    """Delete the report and, after the commit, its file. A generation under way notices
    at its next progress update and stops."""
    with transaction.atomic():
        # The key as it is now (the report may have finished since it was read): locked,
        # so a generation finishing at this moment waits and then finds it gone.
        current = Report.objects.select_for_update().filter(pk=report.pk).first()
        if current is None:
            return
        current.delete()
        files_delete_on_commit([current.storage_key] if current.storage_key else [])
    logger.info("report %s deleted by member %s", report.pk, actor.pk)
