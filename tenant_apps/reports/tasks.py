import logging

from celery import shared_task
from django.conf import settings
from django_tenants.utils import schema_context

from shared_apps.tenants.models import Organization
from tenant_apps.reports.services.generation import report_generate, running_schema_discard, running_schemas_list
from tenant_apps.reports.services.schedules import report_email, report_schedules_run
from tenant_apps.reports.services.sweep import reports_requeue_stale, reports_sweep
from tenant_apps.reports.task_names import REPORT_EMAIL, REPORT_GENERATE

logger = logging.getLogger(__name__)


@shared_task(name=REPORT_GENERATE, ignore_result=True)
def report_generate_task(report_id: int) -> str:
    """Generate one report (runs in the organisation's schema; idempotent)."""
    return report_generate(report_id=report_id)


@shared_task(
    name=REPORT_EMAIL,
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def report_email_task(report_id: int) -> bool:
    """Mail a finished scheduled report (SMTP errors are retried with backoff)."""
    return report_email(report_id=report_id)


@shared_task(name="reports.sweep", ignore_result=True)
def reports_sweep_task() -> dict[str, int]:
    """Beat, every minute, in public: sweep every organisation's reports in turn (one
    task instead of one message per organisation per minute). One organisation's
    failure is logged and does not stop the others. Also requests the weekly scheduled
    reports that are due."""
    totals: dict[str, int] = {}
    schemas = (
        Organization.objects.exclude(status=Organization.Status.SPARE)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("pk")
        .values_list("schema_name", "time_zone")
    )
    for schema, time_zone in schemas:
        try:
            with schema_context(schema):
                counts = reports_sweep()
                counts["scheduled"] = report_schedules_run(time_zone=time_zone)
                for key, value in counts.items():
                    totals[key] = totals.get(key, 0) + value
        except Exception:
            logger.exception("report sweep failed in %s", schema)
    if any(totals.values()):
        logger.info("report sweep: %s", totals)
    return totals


@shared_task(name="reports.requeue_stale", ignore_result=True)
def reports_requeue_stale_task() -> dict[str, int]:
    """Beat, every TESSERA_REPORT_STALE_CHECK_SECONDS, in public: in the organisations
    that had a report running (a Redis set the worker adds to when it claims one), send
    again the reports whose worker died. A schema with nothing running leaves the set."""
    totals: dict[str, int] = {}
    for schema in running_schemas_list():
        try:
            with schema_context(schema):
                counts = reports_requeue_stale()
        except Exception:
            logger.exception("stale report check failed in %s", schema)
            continue
        if not counts.pop("running"):
            running_schema_discard(schema)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    if any(totals.values()):
        logger.info("stale reports: %s", totals)
    return totals
