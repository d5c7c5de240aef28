"""Periodic work proportional to activity, not to organisations (issue 16, item 1).

Beat runs `periodic_sweep` once a minute in public: it visits only the organisations
whose `PendingWork` mark is due (shared_apps/tenants/pending.py), runs their outbox
sweep, report sweep, weekly schedules and due-soon reminders, and settles the mark at
the next time something will be due there (or removes it). `periodic_backstop` visits
every organisation once a day, in case a mark was ever lost (a row deleted by hand,
a restore from an older backup). See docs/scaling.md."""

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, TextField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.audit.services import audit_sweep
from shared_apps.tenants.models import Organization
from shared_apps.tenants.pending import pending_work_due, pending_work_mark, pending_work_settle
from tenant_apps.imports.sweep import imports_next_due, imports_sweep
from tenant_apps.notifications.models import DeliveryStatus, EmailDelivery, Event, WebhookDelivery
from tenant_apps.notifications.processing import outbox_sweep_here
from tenant_apps.notifications.services import due_soon_record
from tenant_apps.reports.models import Report, ReportSchedule
from tenant_apps.reports.services.schedules import SCHEDULE_LOCAL_HOUR, report_schedules_run
from tenant_apps.reports.services.sweep import reports_sweep
from tenant_apps.tasks.models import Task, TaskStatus

logger = logging.getLogger(__name__)

# While reports are queued or running, the sweep looks again this often (lost messages,
# dead workers: reports_sweep's own thresholds decide what to do).
_REPORTS_ACTIVE_RECHECK = timedelta(seconds=60)
# A failed visit is retried after this long.
_RETRY_AFTER = timedelta(seconds=60)


def organization_periodic_work(organization: Organization, *, now: datetime | None = None) -> dict[str, int]:
    """Everything periodic for one organisation (call in any schema): the outbox sweep,
    the report sweep and weekly schedules, due-soon reminders, the CSV imports' sweep;
    then its mark is settled.
    Idempotent, like each of its parts."""
    now = now or timezone.now()
    with tenant_context(organization):
        counts = dict(outbox_sweep_here())
        counts.update(reports_sweep(now=now))
        counts["scheduled"] = report_schedules_run(time_zone=organization.time_zone, now=now)
        counts["due_soon"] = due_soon_record(now=now)
        counts.update(imports_sweep(now=now))
        pending_work_settle(schema_name=organization.schema_name, next_due=lambda: next_work_due(organization, now=now))
    return counts


def next_work_due(organization: Organization, *, now: datetime) -> datetime | None:
    """When periodic work will next be due in `organization` (call in its schema), or
    None when nothing will be until someone writes again."""
    redispatch = timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_SECONDS)
    times: list[datetime] = []
    oldest_event = Event.objects.filter(processed_at__isnull=True).aggregate(at=Min("created_at"))["at"]
    if oldest_event is not None:
        times.append(oldest_event + redispatch)
    for model in (EmailDelivery, WebhookDelivery):
        pending = model.objects.filter(status=DeliveryStatus.PENDING).aggregate(at=Min("next_attempt_at"))["at"]
        if pending is not None:
            times.append(pending + redispatch)
    if Report.objects.filter(status__in=[Report.Status.QUEUED, Report.Status.RUNNING]).exists():
        times.append(now + _REPORTS_ACTIVE_RECHECK)
    expiry = Report.objects.exclude(status=Report.Status.RUNNING).aggregate(at=Min("expires_at"))["at"]
    if expiry is not None:
        times.append(expiry)
    imports = imports_next_due(now=now)
    if imports is not None:
        times.append(imports)
    zone = ZoneInfo(organization.time_zone)
    scheduled = _next_schedule_run(zone, now)
    if scheduled is not None:
        times.append(scheduled)
    if _reminders_missing(zone, now):
        times.append(now)
    reminder = _next_due_soon(zone, now)
    if reminder is not None:
        times.append(reminder)
    return max(min(times), now) if times else None


def _next_schedule_run(zone: ZoneInfo, now: datetime) -> datetime | None:
    """The next time a weekly schedule will request a report (07:00 local on its day)."""
    schedules = list(ReportSchedule.objects.filter(member__is_active=True).values_list("weekday", "last_run_on"))
    if not schedules:
        return None
    local = now.astimezone(zone)
    for days in range(8):
        day = local.date() + timedelta(days=days)
        if any(weekday == day.weekday() and last_run != day for weekday, last_run in schedules):
            return max(datetime.combine(day, time(SCHEDULE_LOCAL_HOUR), tzinfo=zone), now)
    return None  # pragma: no cover (every weekday is reached within 8 days)


def _reminders_missing(zone: ZoneInfo, now: datetime) -> bool:
    """Whether an open task is due within the reminder horizon without its reminder
    (the event due_soon_record writes, keyed `due_soon:<task>:<due date>`)."""
    today = timezone.localdate(now, zone)
    horizon = timezone.localdate(now + timedelta(hours=settings.NOTIFICATIONS_DUE_SOON_HOURS), zone)
    reminder = Event.objects.filter(
        dedupe_key=Concat(
            Value("due_soon:"),
            Cast(OuterRef("pk"), TextField()),
            Value(":"),
            Cast(OuterRef("due_date"), TextField()),
            output_field=TextField(),
        )
    )
    return (
        Task.objects.filter(due_date__gte=today, due_date__lte=horizon)
        .exclude(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        .exclude(Exists(reminder))
        .exists()
    )


def _next_due_soon(zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the next open task's due date enters the reminder horizon: the start of its
    day in the organisation's time zone, less NOTIFICATIONS_DUE_SOON_HOURS. Due dates
    already within the horizon were just handled by due_soon_record."""
    hours = timedelta(hours=settings.NOTIFICATIONS_DUE_SOON_HOURS)
    horizon = timezone.localdate(now + hours, zone)
    upcoming = (
        Task.objects.filter(due_date__gt=horizon)
        .exclude(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        .aggregate(day=Min("due_date"))["day"]
    )
    if upcoming is None:
        return None
    return datetime.combine(upcoming, time(0), tzinfo=zone) - hours


def periodic_sweep(*, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Visit the organisations whose periodic work is due (at most `limit` per run, the
    longest waiting first). One organisation's failure is logged, its mark moved a
    minute on, and the others go on."""
    now = now or timezone.now()
    schemas = pending_work_due(now=now, limit=limit)
    organizations = Organization.objects.filter(schema_name__in=schemas).exclude(status=Organization.Status.SPARE)
    totals: dict[str, int] = {"organizations": 0}
    found = set()
    for organization in organizations:
        found.add(organization.schema_name)
        try:
            counts = organization_periodic_work(organization, now=now)
        except Exception:
            logger.exception("periodic work failed in %s", organization.schema_name)
            pending_work_mark(schema_name=organization.schema_name, due_at=now + _RETRY_AFTER)
            continue
        totals["organizations"] += 1
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    for schema in set(schemas) - found:  # deleted organisations, spares: nothing to do
        pending_work_settle(schema_name=schema, next_due=lambda: None)
    return totals


def periodic_backstop(*, now: datetime | None = None) -> dict[str, int]:
    """The slow full pass behind the marks: in every organisation, work out when
    periodic work is next due (a handful of indexed queries, no work done) and restore
    the mark if it is missing or later; the next `periodic_sweep` does the work. Cheap
    enough to run over 10,000 organisations daily (docs/benchmarks.md). The daily visit
    also enforces the audit log's retention there (one indexed DELETE)."""
    now = now or timezone.now()
    totals = {"organizations": 0, "marked": 0, "audit_deleted": 0}
    organizations = (
        Organization.objects.exclude(status=Organization.Status.SPARE)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("pk")
    )
    for organization in organizations.iterator():
        try:
            with tenant_context(organization):
                totals["audit_deleted"] += audit_sweep(now=now)
                due = next_work_due(organization, now=now)
                if due is not None:
                    pending_work_mark(due_at=due)
                    totals["marked"] += 1
        except Exception:
            logger.exception("periodic backstop failed in %s", organization.schema_name)
            continue
        totals["organizations"] += 1
    return totals
