"""A report's run in a worker: claim, heartbeats, the file, finish or fail."""

import logging
import secrets
import tempfile
import threading
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from config.celery import enqueue_on_commit
from shared_apps.core.storage import files_delete_on_commit, storage
from tenant_apps.members.models import Member
from tenant_apps.notifications.emails import language_for
from tenant_apps.notifications.models import EventKind
from tenant_apps.notifications.services import event_record
from tenant_apps.reports.kinds import KINDS, ReportData, Scope
from tenant_apps.reports.models import Report
from tenant_apps.reports.selectors import report_scope
from tenant_apps.reports.task_names import REPORT_EMAIL
from tenant_apps.reports.writers import WRITERS, copies
from tenant_apps.tasks.models import Label

logger = logging.getLogger(__name__)


ACTIVE = (Report.Status.QUEUED, Report.Status.RUNNING)
INTERNAL_ERROR = "An internal error stopped the report. Request it again; if it keeps failing, contact support."


class ReportError(Exception):
    """A reason the report cannot be made that the requester can act on."""


class ReportCancelled(Exception):
    """The report was deleted (or given up) while it was being generated."""


def stale_before(now) -> Any:
    return now - timedelta(seconds=settings.TESSERA_REPORT_STALE_SECONDS)


def _claim(report_id: int) -> bool:
    """Mark the report running for this worker. Only a queued report, or a running one
    whose worker stopped sending heartbeats (a redelivered message), can be claimed, so
    a duplicate message never runs a report twice at once."""
    now = timezone.now()
    claimable = Q(status=Report.Status.QUEUED) | Q(status=Report.Status.RUNNING, heartbeat_at__lt=stale_before(now))
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
        # Progress handed over by a writer whose rows PostgreSQL streams (COPY): the main
        # thread's connection is busy with the COPY, so this thread stores it at once.
        self.wake = threading.Event()
        self.progress: int | None = None

    def progress_hand_over(self, progress: int) -> None:
        self.progress = progress
        self.wake.set()

    def run(self) -> None:
        try:
            with schema_context(self.schema):
                while True:
                    self.wake.wait(settings.TESSERA_REPORT_HEARTBEAT_SECONDS)
                    self.wake.clear()
                    if self.done.is_set():
                        return
                    fields = {"heartbeat_at": timezone.now()}
                    if self.progress is not None:
                        fields["progress"] = self.progress
                    if not Report.objects.filter(
                        pk=self.report_id, status=Report.Status.RUNNING, attempts=self.attempts
                    ).update(**fields):
                        return
        except Exception:
            # A lost heartbeat only risks a duplicate run, which the claim makes harmless.
            logger.warning("report %s heartbeat stopped", self.report_id, exc_info=True)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.done.set()
        self.wake.set()
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
        return _generate(report, beat)
    finally:
        beat.stop()


def _generate(report: Report, beat: _HeartbeatThread) -> str:
    key = None
    try:
        scope = _scope_for(report)
        # Headers, status and priority names, summary labels: the requester's language.
        language = translation.override(language_for(report.requested_by))
        with language:
            data = KINDS[report.kind].build(scope)
        _heartbeat(report, 0)
        total = data.total

        def percent(rows: int) -> int:
            return min(99, rows * 100 // total) if total else 0

        if copies(data, report.format):
            # The connection streams the COPY: the heartbeat thread stores the progress (a
            # report deleted meanwhile is noticed when it finishes).
            def on_progress(rows: int) -> None:
                beat.progress_hand_over(percent(rows))
        else:

            def on_progress(rows: int) -> None:
                _heartbeat(report, percent(rows))

        with tempfile.TemporaryFile(prefix="tessera-report-") as out, language:
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
    except ValidationError as exc:  # the kind's parameters no longer hold (a deleted field)
        _file_delete(key)
        report_fail(report_id=report.pk, reason=" ".join(exc.messages))
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
            enqueue_on_commit(REPORT_EMAIL, args=[report.pk])
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
