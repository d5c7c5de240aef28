"""Keeping imports moving and storage bounded: part of the periodic work of an
organisation (tenant_apps/notifications/periodic.py), visited only when its PendingWork
mark is due — an upload marks it for when its file would expire, a start for when its
message would count as lost — so organisations without imports cost nothing
(docs/scaling.md, "Periodic work is proportional to activity")."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from config.celery import send_in_schema
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.services import import_finish, import_run_lock

IMPORT_RUN = "imports.run"


def _ttl() -> timedelta:
    return timedelta(hours=settings.TESSERA_IMPORT_UPLOAD_TTL_HOURS)


def _redispatch_after() -> timedelta:
    return timedelta(minutes=settings.TESSERA_IMPORT_REDISPATCH_MINUTES)


def _active() -> Q:
    return Q(status__in=[TaskImport.Status.QUEUED, TaskImport.Status.RUNNING])


def imports_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """In the current organisation's schema:

    - imports uploaded more than TESSERA_IMPORT_UPLOAD_TTL_HOURS ago and never started
      fail with a reason, and their file is deleted;
    - queued or running imports without progress for TESSERA_IMPORT_REDISPATCH_MINUTES
      (the message was lost, or the worker died) are sent to a worker again — unless a
      live run holds the import's lock — or fail after TESSERA_IMPORT_MAX_ATTEMPTS
      starts. A re-sent import never imports twice: the run skips an import that is
      finished or that another run holds, and its inserting transaction is all or
      nothing.

    Idempotent; returns the counts."""
    now = now or timezone.now()
    counts = {"imports_expired": 0, "imports_redispatched": 0, "imports_failed": 0}
    for import_id in TaskImport.objects.filter(
        status=TaskImport.Status.UPLOADED, created_at__lt=now - _ttl()
    ).values_list("pk", flat=True):
        with transaction.atomic():
            task_import = (
                TaskImport.objects.select_for_update().filter(pk=import_id, status=TaskImport.Status.UPLOADED).first()
            )
            if task_import is not None:
                reason = _("Not started within %(hours)g hours: the file was deleted. Upload it again.") % {
                    "hours": settings.TESSERA_IMPORT_UPLOAD_TTL_HOURS
                }
                import_finish(task_import, status=TaskImport.Status.FAILED, reason=reason, errors=[], error_count=0)
                counts["imports_expired"] += 1
    stale = TaskImport.objects.filter(_active()).filter(
        Q(progressed_at__isnull=True) | Q(progressed_at__lt=now - _redispatch_after())
    )
    for import_id, attempts in stale.values_list("pk", "attempts"):
        with import_run_lock(import_id) as free:
            if not free:  # a live worker is running it (inserting: no progress in the row)
                continue
            if attempts >= settings.TESSERA_IMPORT_MAX_ATTEMPTS:
                with transaction.atomic():
                    task_import = TaskImport.objects.select_for_update().filter(_active(), pk=import_id).first()
                    if task_import is not None:
                        reason = _(
                            "The import was started %(n)d times and its worker stopped each time: nothing was imported."
                        ) % {"n": attempts}
                        import_finish(
                            task_import, status=TaskImport.Status.FAILED, reason=reason, errors=[], error_count=0
                        )
                        counts["imports_failed"] += 1
                continue
        if send_in_schema(IMPORT_RUN, schema_name=connection.schema_name, args=[import_id]) is not None:
            TaskImport.objects.filter(_active(), pk=import_id).update(progressed_at=now)
            counts["imports_redispatched"] += 1
    return counts


def imports_next_due(*, now: datetime) -> datetime | None:
    """When the sweep next has import work here: the oldest unstarted upload's expiry, or
    the moment the least recently progressed queued/running import counts as stuck."""
    times = []
    uploaded = TaskImport.objects.filter(status=TaskImport.Status.UPLOADED).aggregate(at=Min("created_at"))["at"]
    if uploaded is not None:
        times.append(uploaded + _ttl())
    active = TaskImport.objects.filter(_active()).aggregate(at=Min(Coalesce("progressed_at", "created_at")))["at"]
    if active is not None:
        times.append(active + _redispatch_after())
    return min(times) if times else None
