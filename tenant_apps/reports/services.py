"""Writes to reports: request, generate, finish, fail, delete, sweep. Call inside the
organisation's schema (Celery tasks run there through their `_schema_name` header).

Life of a report: `report_request` validates and stores it as `queued` and enqueues
generation after the commit. A worker's `report_generate` claims it (`running`),
streams the rows into a temporary file with progress at most once a second, moves the
file into tenant storage and calls `report_finish` (`done`), or `report_fail` with a
readable reason. `reports_sweep` (beat, every minute, every organisation) re-sends
queued reports whose message may have been lost, re-queues running ones whose worker
stopped sending heartbeats (up to TESSERA_REPORT_MAX_ATTEMPTS starts, then `failed`),
and deletes expired reports with their files. While a report runs, a heartbeat thread
keeps it alive; `reports_requeue_stale` (every 10 s, organisations with a running report)
re-sends those whose worker died within a minute."""

import hashlib
import json
import logging
import secrets
import tempfile
import threading
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from config.celery import enqueue_on_commit, send_in_schema
from shared_apps.billing.limits import limit_check
from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.core.storage import files_delete_on_commit, storage
from shared_apps.tenants.models import Organization
from shared_apps.tenants.pending import pending_work_mark
from shared_apps.tenants.services import organization_url
from tenant_apps.members.models import Member
from tenant_apps.notifications.emails import language_for
from tenant_apps.notifications.models import EventKind
from tenant_apps.notifications.services import event_record
from tenant_apps.reports.kinds import KINDS, ReportData, Scope, params_clean
from tenant_apps.reports.models import MonthlyUsage, Report, ReportSchedule
from tenant_apps.reports.selectors import member_may_request_reports, month_start, report_scope
from tenant_apps.reports.writers import CONTENT_TYPES, WRITERS
from tenant_apps.tasks.models import Label

logger = logging.getLogger(__name__)

ACTIVE = (Report.Status.QUEUED, Report.Status.RUNNING)
INTERNAL_ERROR = "An internal error stopped the report. Request it again; if it keeps failing, contact support."


class ReportError(Exception):
    """A reason the report cannot be made that the requester can act on."""


class ReportCancelled(Exception):
    """The report was deleted (or given up) while it was being generated."""


def _digest(kind: str, format: str, params: dict[str, Any]) -> str:
    canonical = json.dumps({"kind": kind, "format": format, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _enqueue(report: Report) -> None:
    from tenant_apps.reports.tasks import report_generate_task

    enqueue_on_commit(report_generate_task, args=[report.pk])


def report_request(
    *, actor: Member, kind: str, format: str, params: dict[str, Any], time_zone: str
) -> tuple[Report, bool]:
    """Request a report as `actor`: validated, stored `queued`, generated in the
    background. Returns (report, created): the same request (kind, format, parameters)
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


# --- Generation (worker) ----------------------------------------------------------------


def _stale_before(now) -> Any:
    return now - timedelta(seconds=settings.TESSERA_REPORT_STALE_SECONDS)


def _claim(report_id: int) -> bool:
    """Mark the report running for this worker. Only a queued report, or a running one
    whose worker stopped sending heartbeats (a redelivered message), can be claimed, so
    a duplicate message never runs a report twice at once."""
    now = timezone.now()
    claimable = Q(status=Report.Status.QUEUED) | Q(status=Report.Status.RUNNING, heartbeat_at__lt=_stale_before(now))
    return bool(
        Report.objects.filter(claimable, pk=report_id, attempts__lt=settings.TESSERA_REPORT_MAX_ATTEMPTS).update(
            status=Report.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            progress=0,
            failure_reason="",
            attempts=F("attempts") + 1,
        )
    )


# --- Liveness: heartbeats while a report works, and the frequent check for dead ones ----
# A worker proves its report alive every TESSERA_REPORT_HEARTBEAT_SECONDS (a thread, so
# the long query before the first row and the file save count too); a report without a
# heartbeat for TESSERA_REPORT_STALE_SECONDS lost its worker and `reports_requeue_stale`,
# run every TESSERA_REPORT_STALE_CHECK_SECONDS, sends it again. Worst case from the
# worker's death to the report being sent again: stale + check interval (45 + 10 s).

RUNNING_SCHEMAS_KEY = "reports-running-schemas"


def _running_schemas():
    """The Redis set of schemas that may hold running reports, so the frequent check
    visits those and not every organisation. (Django's cache API has no sets: the raw
    client of the platform cache alias.) Best effort: the minute sweep still visits all."""
    cache = caches["platform"]
    key = cache.make_key(RUNNING_SCHEMAS_KEY)
    return cache._cache.get_client(key, write=True), key


def running_schema_add(schema: str) -> None:
    try:
        client, key = _running_schemas()
        client.sadd(key, schema)
    except Exception:  # Redis down: the minute sweep covers it
        logger.warning("could not record running reports in %s", schema, exc_info=True)


def running_schemas_list() -> list[str]:
    try:
        client, key = _running_schemas()
        return sorted(member.decode() for member in client.smembers(key))
    except Exception:
        logger.warning("could not read the schemas with running reports", exc_info=True)
        return []


def running_schema_discard(schema: str) -> None:
    try:
        client, key = _running_schemas()
        client.srem(key, schema)
    except Exception:
        logger.warning("could not update the schemas with running reports", exc_info=True)


class _HeartbeatThread(threading.Thread):
    """Refreshes `heartbeat_at` of this run every TESSERA_REPORT_HEARTBEAT_SECONDS on a
    connection of its own, whatever the main thread is blocked in (the query, a slow
    storage). Stops by itself once the run lost the report (another worker took it over,
    it was deleted): the main thread finds out at its next progress or at the finish."""

    def __init__(self, report: Report, schema: str) -> None:
        super().__init__(name=f"report-{report.pk}-heartbeat", daemon=True)
        self.report_id, self.attempts, self.schema = report.pk, report.attempts, schema
        self.done = threading.Event()

    def run(self) -> None:
        try:
            with schema_context(self.schema):
                while not self.done.wait(settings.TESSERA_REPORT_HEARTBEAT_SECONDS):
                    if not Report.objects.filter(
                        pk=self.report_id, status=Report.Status.RUNNING, attempts=self.attempts
                    ).update(heartbeat_at=timezone.now()):
                        return
        except Exception:
            # A lost heartbeat only risks a duplicate run, which the claim makes harmless.
            logger.warning("report %s heartbeat stopped", self.report_id, exc_info=True)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.done.set()
        self.join(5)


def _heartbeat(report: Report, progress: int) -> None:
    """Progress and proof of life, for this run only: once the sweep has handed the
    report to another worker (its `attempts` moved on), this run stops."""
    updated = Report.objects.filter(pk=report.pk, status=Report.Status.RUNNING, attempts=report.attempts).update(
        progress=progress, heartbeat_at=timezone.now()
    )
    if not updated:
        raise ReportCancelled


def _filename(report: Report, scope: Scope) -> str:
    params = report.params
    if "from" in params:
        span = f"{params['from'][:10]}_{params['to'][:10]}"
    else:
        span = scope.now.astimezone(scope.tz).date().isoformat()
    project = f"_{params['project']}" if params.get("project") else ""
    return f"{report.kind.replace('_', '-')}{project}_{span}.{report.format}"


def _scope_for(report: Report) -> Scope:
    """What the report may read, decided now: the requester's current access."""
    member = report.requested_by
    if not member.is_active:
        raise ReportError(_("The person who requested this report is no longer an active member."))
    projects = report_scope(member)
    if not projects.exists():
        raise ReportError(_("You may no longer request reports in any project."))
    params = report.params
    if params.get("project_id") and not projects.filter(pk=params["project_id"]).exists():
        raise ReportError(
            _("Project %(key)s no longer exists or you may no longer report on it.") % {"key": params.get("project")}
        )
    if params.get("label_id") and not Label.objects.filter(pk=params["label_id"]).exists():
        raise ReportError(_("The label this report filters on was deleted."))
    if params.get("assignee_id") and not Member.objects.filter(pk=params["assignee_id"]).exists():
        raise ReportError(_("The member this report filters on no longer exists."))
    return Scope(projects=projects, tz=ZoneInfo(params["time_zone"]), params=params, now=timezone.now())


def _meta(report: Report, data: ReportData, scope: Scope) -> dict[str, Any]:
    shown = {key: value for key, value in report.params.items() if not key.endswith("_id")}
    return {
        "id": report.pk,
        "kind": report.kind,
        "title": data.title,
        "parameters": shown,
        "requested_by": str(report.requested_by),
        "generated_at": scope.now.astimezone(scope.tz).isoformat(),
    }


def report_generate(*, report_id: int) -> str:
    """Generate the report (in a worker). Idempotent: returns "skipped" unless this call
    claimed it; otherwise "done", "failed" or "cancelled"."""
    if not _claim(report_id):
        return "skipped"
    report = Report.objects.select_related("requested_by").filter(pk=report_id).first()
    if report is None:
        return "cancelled"
    running_schema_add(connection.schema_name)
    beat = _HeartbeatThread(report, connection.schema_name)
    beat.start()
    try:
        return _generate(report)
    finally:
        beat.stop()


def _generate(report: Report) -> str:
    key = None
    try:
        scope = _scope_for(report)
        data = KINDS[report.kind].build(scope)
        _heartbeat(report, 0)
        total = data.total

        def on_progress(rows: int) -> None:
            _heartbeat(report, min(99, rows * 100 // total) if total else 0)

        with tempfile.TemporaryFile(prefix="tessera-report-") as out:
            row_count = WRITERS[report.format](out, data, _meta(report, data, scope), on_progress)
            file_size = out.tell()
            out.seek(0)
            key = storage().save(f"{connection.schema_name}/reports/{secrets.token_hex(16)}", File(out))
        finished = report_finish(
            report=report,
            storage_key=key,
            filename=_filename(report, scope),
            row_count=row_count,
            file_size=file_size,
            summary=data.summary.as_json(),
        )
        return "done" if finished else "cancelled"
    except ReportCancelled:
        _file_delete(key)
        return "cancelled"
    except ReportError as exc:
        report_fail(report_id=report.pk, reason=str(exc))
    except SoftTimeLimitExceeded:
        _file_delete(key)
        report_fail(
            report_id=report.pk,
            reason=_("The report took longer than the time limit; narrow the period or filter by project."),
        )
    except Exception:
        logger.exception("report %s failed", report.pk)
        _file_delete(key)
        report_fail(report_id=report.pk, reason=_(INTERNAL_ERROR))
    return "failed"


def _file_delete(key: str | None) -> None:
    if key:
        storage().delete(key)


def report_finish(
    *,
    report: Report,
    storage_key: str,
    filename: str,
    row_count: int,
    file_size: int,
    summary: dict[str, Any],
) -> Report | None:
    """The report is complete: record its file and figures and mark it done. Returns
    None (and removes the file) when it was deleted or given up meanwhile.

    This is the one place a report completes: the requester's "Your report … is ready"
    notification belongs here, inside the transaction (outbox Event)."""
    now = timezone.now()
    with transaction.atomic():
        # Only the run that holds the report finishes it: a run the sweep gave up on (and
        # handed to another worker) throws its file away.
        updated = Report.objects.filter(pk=report.pk, status=Report.Status.RUNNING, attempts=report.attempts).update(
            status=Report.Status.DONE,
            progress=100,
            heartbeat_at=now,
            finished_at=now,
            storage_key=storage_key,
            filename=filename,
            row_count=row_count,
            file_size=file_size,
            summary=summary,
            expires_at=now + timedelta(days=settings.TESSERA_REPORT_RETENTION_DAYS),
        )
        if not updated:
            files_delete_on_commit([storage_key])
            return None
        report.refresh_from_db()
        # The outbox event commits with the report: "Your report … is ready".
        event_record(
            kind=EventKind.REPORT_READY,
            actor=None,
            payload={
                "member_ids": [report.requested_by_id],
                "report_id": report.pk,
                "report_kind": report.kind,
                "url": f"/api/v1/reports/{report.pk}/download/",
                # A scheduled report is mailed with its file: no second email about it.
                "email": not report.email_when_done,
            },
        )
        if report.email_when_done:
            from tenant_apps.reports.tasks import report_email_task

            enqueue_on_commit(report_email_task, args=[report.pk])
    logger.info("report %s done: %d rows, %d bytes", report.pk, row_count, file_size)
    return report


def report_fail(*, report_id: int, reason: str) -> bool:
    """Mark a queued or running report failed with a reason a person can read."""
    now = timezone.now()
    updated = Report.objects.filter(pk=report_id, status__in=ACTIVE).update(
        status=Report.Status.FAILED,
        failure_reason=reason,
        finished_at=now,
        expires_at=now + timedelta(days=settings.TESSERA_REPORT_RETENTION_DAYS),
    )
    if updated:
        logger.info("report %s failed: %s", report_id, reason)
    return bool(updated)


# --- Sweep (beat) -----------------------------------------------------------------------


def _send(report_id: int) -> bool:
    from tenant_apps.reports.tasks import report_generate_task

    return send_in_schema(report_generate_task, schema_name=connection.schema_name, args=[report_id]) is not None


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
    stale = Report.objects.filter(status=Report.Status.RUNNING, heartbeat_at__lt=_stale_before(now))
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


# --- Weekly scheduled reports -------------------------------------------------------------

# Scheduled reports are requested from this hour (organisation's time zone) on their day.
SCHEDULE_LOCAL_HOUR = 7


def report_schedule_set(*, actor: Member, weekday: int, format: str) -> ReportSchedule:
    """Have the `actor` mailed a "completed last week" report every `weekday` (0 = Monday).
    Needs report.create in some project (PermissionDenied otherwise)."""
    if not member_may_request_reports(actor):
        raise PermissionDenied(_("Your roles do not allow reports (report.create) in any project."))
    with transaction.atomic():
        schedule, _created = ReportSchedule.objects.update_or_create(
            member=actor, defaults={"weekday": weekday, "format": format}
        )
        pending_work_mark()  # the sweep works out when it is next due
    return schedule


def report_schedule_delete(*, actor: Member) -> bool:
    """The `actor` stops their weekly report (False when there was none)."""
    return bool(ReportSchedule.objects.filter(member=actor).delete()[0])


def last_week(moment: datetime) -> tuple[date, date]:
    """[Monday, next Monday) of the full week before the one `moment` (local) falls in."""
    monday = moment.date() - timedelta(days=moment.weekday())
    return monday - timedelta(days=7), monday


def report_schedules_run(*, time_zone: str, now: datetime | None = None) -> int:
    """Request the weekly reports due now (in the organisation's schema; beat calls it
    every minute through the sweep). Each schedule runs at most once a local day: the
    day is claimed with a conditional UPDATE before the report is requested. Returns how
    many reports were requested."""
    local = (now or timezone.now()).astimezone(ZoneInfo(time_zone))
    if local.hour < SCHEDULE_LOCAL_HOUR:
        return 0
    today = local.date()
    due = ReportSchedule.objects.select_related("member").filter(weekday=local.weekday(), member__is_active=True)
    requested = 0
    for schedule in due.exclude(last_run_on=today):
        if not ReportSchedule.objects.filter(pk=schedule.pk).exclude(last_run_on=today).update(last_run_on=today):
            continue  # another sweep took it
        start, end = last_week(local)
        try:
            with transaction.atomic():
                report, _created = report_request(
                    actor=schedule.member,
                    kind="completed_tasks",
                    format=schedule.format,
                    params={"from": start.isoformat(), "to": end.isoformat()},
                    time_zone=time_zone,
                )
                Report.objects.filter(pk=report.pk).update(email_when_done=True)
        except (PermissionDenied, ValidationError, ServiceRefusal) as exc:
            # No access any more, or the plan's monthly reports used up / the organisation
            # read-only: this week's report is skipped, the other schedules still run.
            logger.info("weekly report for member %s skipped: %s", schedule.member_id, exc)
            continue
        requested += 1
    return requested


def report_email(*, report_id: int) -> bool:
    """Mail a finished scheduled report to its requester: the file attached, or a link
    when it is larger than TESSERA_REPORT_EMAIL_MAX_BYTES. Sent at most once (the flag
    is cleared before sending and restored if sending fails)."""
    claimed = Report.objects.filter(pk=report_id, status=Report.Status.DONE, email_when_done=True).update(
        email_when_done=False
    )
    if not claimed:
        return False
    report = Report.objects.select_related("requested_by").get(pk=report_id)
    with translation.override(language_for(report.requested_by)):
        message, attach = _report_email_message(report)
    try:
        if attach:
            with storage().open(report.storage_key, "rb") as stored:
                message.attach(report.filename, stored.read(), CONTENT_TYPES[report.format])
        message.send()
    except Exception:
        Report.objects.filter(pk=report_id).update(email_when_done=True)
        raise
    logger.info("weekly report %s mailed to member %s", report.pk, report.requested_by_id)
    return True


def _report_email_message(report: Report) -> tuple[EmailMessage, bool]:
    """The weekly report's email in the active language, and whether to attach the file."""
    organization = Organization.objects.get(schema_name=connection.schema_name)
    figures = (report.summary or {}).get("figures", {})
    last_day = date.fromisoformat(report.params["to"][:10]) - timedelta(days=1)
    period = _("%(start)s to %(end)s") % {"start": report.params["from"][:10], "end": last_day.isoformat()}
    url = organization_url(organization, f"/api/v1/reports/{report.pk}/download/")
    attach = report.file_size is not None and report.file_size <= settings.TESSERA_REPORT_EMAIL_MAX_BYTES
    lines = [
        _("Tasks completed in %(org)s, %(period)s: %(count)s.")
        % {"org": organization.name, "period": period, "count": figures.get("tasks", report.row_count)},
    ]
    if figures.get("cycle_time_median_days") is not None:
        lines.append(
            _("Median cycle time: %(median)s days (90th percentile: %(p90)s days).")
            % {"median": figures["cycle_time_median_days"], "p90": figures["cycle_time_p90_days"]}
        )
    lines.append(
        _("The report is attached; it is also available until %(date)s at %(url)s")
        % {"date": report.expires_at.date().isoformat(), "url": url}
        if attach
        else _("The report is too large to attach; download it until %(date)s at %(url)s")
        % {"date": report.expires_at.date().isoformat(), "url": url}
    )
    lines.append(_("You get this every week; change or stop it at /api/v1/reports/schedule/."))
    message = EmailMessage(
        subject=_("Weekly report: tasks completed %(period)s") % {"period": period},
        body="\n\n".join(lines) + "\n",
        to=[report.requested_by.email],
    )
    return message, attach
