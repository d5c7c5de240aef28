"""Keeping reports moving: the minute sweep and the frequent check for dead workers."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.celery import send_in_schema
from shared_apps.core.storage import files_delete_on_commit
from tenant_apps.reports.models import Report
from tenant_apps.reports.services.generation import stale_before
from tenant_apps.reports.task_names import REPORT_GENERATE

logger = logging.getLogger(__name__)


def _send(report_id: int) -> bool:
    return send_in_schema(REPORT_GENERATE, schema_name=connection.schema_name, args=[report_id]) is not None


def reports_sweep(*, now=None) -> dict[str, int]:
    """Keep reports moving and storage bounded (run in each organisation's schema):

    - running reports without a heartbeat for TESSERA_REPORT_STALE_SECONDS lost their
      worker: queued again and re-sent, or failed once they were started
      TESSERA_REPORT_MAX_ATTEMPTS times;
    - queued reports last sent more than TESSERA_REPORT_REDISPATCH_SECONDS ago are sent
      again (the broker may have been down; a duplicate message is harmless: only one
      claim succeeds);
    - reports past `expires_at` are deleted with their files (not running ones).
    """
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0, "redispatched": 0, "expired": 0}
    counts.update(_stale_requeue(now))
    resend_before = now - timedelta(seconds=settings.TESSERA_REPORT_REDISPATCH_SECONDS)
    waiting = Report.objects.filter(status=Report.Status.QUEUED).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=resend_before)
    )
    for report_id in waiting.values_list("pk", flat=True):
        if _send(report_id):
            Report.objects.filter(pk=report_id).update(dispatched_at=now)
            counts["redispatched"] += 1
    expired = Report.objects.filter(expires_at__lte=now).exclude(status=Report.Status.RUNNING)
    for report_id, key in expired.values_list("pk", "storage_key"):
        with transaction.atomic():
            if Report.objects.filter(pk=report_id).exclude(status=Report.Status.RUNNING).delete()[0]:
                files_delete_on_commit([key] if key else [])
                counts["expired"] += 1
    return counts


def _stale_requeue(now) -> dict[str, int]:
    counts = {"requeued": 0, "failed": 0}
    stale = Report.objects.filter(status=Report.Status.RUNNING, heartbeat_at__lt=stale_before(now))
    for report_id, attempts in stale.values_list("pk", "attempts"):
        if attempts >= settings.TESSERA_REPORT_MAX_ATTEMPTS:
            reason = _("The report was started %(n)d times and its worker stopped each time; request it again.") % {
                "n": attempts
            }
            counts["failed"] += Report.objects.filter(pk=report_id, status=Report.Status.RUNNING).update(
                status=Report.Status.FAILED, failure_reason=reason, finished_at=now
            )
        elif stale.filter(pk=report_id).update(status=Report.Status.QUEUED, progress=0, dispatched_at=None):
            counts["requeued"] += 1
    return counts


def reports_requeue_stale(*, now=None) -> dict[str, int]:
    """The frequent part of the sweep (run in one organisation's schema): running reports
    whose worker stopped sending heartbeats are queued again and sent at once (or failed
    after TESSERA_REPORT_MAX_ATTEMPTS starts). Returns the counts and `running`, the
    reports still running here."""
    now = now or timezone.now()
    counts = _stale_requeue(now)
    sent = 0
    for report_id in Report.objects.filter(status=Report.Status.QUEUED, dispatched_at__isnull=True).values_list(
        "pk", flat=True
    ):
        if _send(report_id):
            Report.objects.filter(pk=report_id).update(dispatched_at=now)
            sent += 1
    counts["redispatched"] = sent
    counts["running"] = Report.objects.filter(status=Report.Status.RUNNING).count()
    return counts
