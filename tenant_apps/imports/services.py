"""Writes of the CSV import: upload, mapping, start, and the background run.

Who may import: whoever may create tasks in the project (`task.create`); a mapped
state column also needs `task.change_status` and an assignees column `task.assign`,
exactly as task_create asks for one task (docs/permissions.md).

What an import writes (docs/imports.md): the tasks, with numbers taken in one step from
the project's sequence; labels that do not exist yet; one Activity row per task (kind
"created", field "import", the import's id), so each task's history says where it came
from; the importer as the tasks' reporter and watcher; and one audit entry
("task.imported") for the whole import. It writes no outbox events: a bulk import
notifies no assignee (hundreds of "assigned to you" mails for a migration are noise);
the importer follows it on the progress page."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.celery import enqueue_on_commit
from shared_apps.audit.services import audit_record, audit_target
from shared_apps.core.storage import files_delete_on_commit, storage, tenant_file_key
from shared_apps.tenants.pending import pending_work_mark
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.reading import encoding_detect, header_read, rows_read
from tenant_apps.imports.targets import RowReader, Target, mapping_suggest, state_resolver, targets_for
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Watcher
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import permission_require
from tenant_apps.tasks.cache import task_counts_invalidate
from tenant_apps.tasks.live import live_bump
from tenant_apps.tasks.models import Activity, Label, Task, TaskStatus
from tenant_apps.tasks.ranks import rank_between

logger = logging.getLogger(__name__)

# Errors kept on the import (all are counted).
ERRORS_KEPT = 200
# Share of the progress bar the checking pass takes; inserting takes the rest.
_CHECK_SHARE = 40


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def _progress_key(import_id: int) -> str:
    return f"imports:progress:{import_id}"


def progress_read(task_import: TaskImport) -> int:
    """The import's progress in percent: the row's, or, while the inserting
    transaction runs (its writes are not visible yet), the worker's figure in the cache.
    A cache outage shows the row's figure."""
    if task_import.status != TaskImport.Status.RUNNING:
        return task_import.progress
    try:
        cached = cache.get(_progress_key(task_import.pk))
    except Exception:  # a cache outage degrades to the database's figure
        cached = None
    return max(task_import.progress, cached or 0)


def _progress_write(task_import: TaskImport, percent: int, *, in_transaction: bool) -> None:
    percent = max(0, min(99, percent))
    if in_transaction:
        try:
            cache.set(_progress_key(task_import.pk), percent, 3600)
        except Exception:
            logger.warning("import %s: could not cache progress", task_import.pk, exc_info=True)
    else:
        task_import.progress = percent
        TaskImport.objects.filter(pk=task_import.pk).update(progress=percent, progressed_at=timezone.now())


def import_codes(mapping: dict[str, str | None], targets: list[Target]) -> set[str]:
    """The permission codes an import with `mapping` needs."""
    by_key = {target.key: target for target in targets}
    codes = {"task.create"}
    for key in mapping.values():
        if key and key in by_key:
            codes |= by_key[key].codes
    return codes


def import_upload(*, project: Project, actor: Member, upload) -> TaskImport:
    """Check `upload` (an UploadedFile): size, encoding, a header, the row count; store it
    in the organisation's storage and suggest a mapping from the header. Nothing is
    stored when the file is refused (ValidationError on "file")."""
    permission_require(member=actor, project=project, codes={"task.create"})
    if project.archived:
        raise ValidationError(_("The project is archived: unarchive it to import tasks."), code="archived")
    limit = settings.TESSERA_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError({"file": _("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}})
    encoding = encoding_detect(upload.chunks(64 * 1024))
    upload.seek(0)
    delimiter, headers = header_read(upload, encoding=encoding)
    upload.seek(0)
    rows = 0
    for _line, _cells in rows_read(upload, encoding=encoding, delimiter=delimiter):
        rows += 1
        if rows > settings.TESSERA_IMPORT_MAX_ROWS:
            raise ValidationError(
                {"file": _("The file has more than %(max)d rows.") % {"max": settings.TESSERA_IMPORT_MAX_ROWS}}
            )
    if rows == 0:
        raise ValidationError({"file": _("The file has a header but no rows.")})
    upload.seek(0)
    key = storage().save(tenant_file_key("imports"), upload)
    try:
        with transaction.atomic():
            task_import = TaskImport.objects.create(
                project=project,
                requested_by=actor,
                filename=(upload.name or "import.csv")[-255:],
                size=upload.size,
                storage_key=key,
                encoding=encoding,
                delimiter=delimiter,
                headers=headers,
                mapping=mapping_suggest(headers, targets_for(project)),
                row_count=rows,
            )
            # The sweep deletes the file if it is never started (tenant_apps/imports/sweep.py).
            pending_work_mark(due_at=timezone.now() + timedelta(hours=settings.TESSERA_IMPORT_UPLOAD_TTL_HOURS))
            return task_import
    except Exception:
        storage().delete(key)
        raise


def _editable(task_import: TaskImport) -> None:
    if task_import.status != TaskImport.Status.UPLOADED:
        raise ValidationError(_("This import has already been started."), code="started")


def mapping_clean(*, task_import: TaskImport, mapping: dict[str, Any], targets: list[Target]) -> dict[str, str | None]:
    """{column index: target key or ""} from `mapping`, whose keys are column indexes
    ("0") or header texts and whose values are target keys, or "" / null to skip the
    column. Columns not named keep their current mapping. ValidationError names the
    problem."""
    headers = task_import.headers
    keys = {target.key for target in targets}
    # None: an unknown column nobody decided about yet (mapping_problems names it).
    clean: dict[str, str | None] = dict(task_import.mapping)
    errors: list[str] = []
    for column, value in mapping.items():
        column = str(column)
        if column.isdigit() and int(column) < len(headers):
            index = column
        elif column in headers:
            index = str(headers.index(column))
        else:
            errors.append(_("No column “%(column)s” in the file.") % {"column": column[:60]})
            continue
        if value not in (None, "") and value not in keys:
            errors.append(_("“%(value)s” is not a field tasks can be imported into.") % {"value": str(value)[:60]})
            continue
        clean[index] = value or ""
    chosen = [value for value in clean.values() if value]
    for key in sorted({value for value in chosen if chosen.count(value) > 1}):
        errors.append(_("Two columns are mapped to the same field (%(field)s).") % {"field": key})
    if errors:
        raise ValidationError({"mapping": errors})
    return clean


def import_mapping_set(*, task_import: TaskImport, actor: Member, mapping: dict[str, Any]) -> TaskImport:
    """Set which column fills which field. Only before the import starts."""
    _editable(task_import)
    targets = targets_for(task_import.project)
    clean = mapping_clean(task_import=task_import, mapping=mapping, targets=targets)
    permission_require(member=actor, project=task_import.project, codes=import_codes(clean, targets))
    task_import.mapping = clean
    task_import.save(update_fields=["mapping"])
    return task_import


def mapping_problems(task_import: TaskImport) -> list[RowError]:
    """What stops the import from starting: a column not mapped (an unknown header that
    nobody chose a field or "skip" for) and a missing title column. Row 1 is the header."""
    problems = [
        RowError(
            1,
            task_import.headers[int(index)],
            _("Unknown column: choose the field it fills, or “Skip”."),
        )
        for index, key in sorted(task_import.mapping.items(), key=lambda item: int(item[0]))
        if key is None
    ]
    if "title" not in task_import.mapping.values():
        problems.append(RowError(1, "", _("Choose the column that holds the task titles.")))
    return problems


def import_start(*, task_import: TaskImport, actor: Member, mode: str) -> TaskImport:
    """Queue the import. `mode`: all_or_nothing (a row with an error and nothing is
    imported) or valid_rows (the valid rows are imported, the others reported)."""
    _editable(task_import)
    if mode not in TaskImport.Mode.values:
        raise ValidationError({"mode": _("Choose all_or_nothing or valid_rows.")})
    problems = mapping_problems(task_import)
    if problems:
        raise ValidationError({"mapping": [f"{p.column}: {p.message}" if p.column else p.message for p in problems]})
    permission_require(
        member=actor,
        project=task_import.project,
        codes=import_codes(task_import.mapping, targets_for(task_import.project)),
    )
    from tenant_apps.imports.tasks import import_run_task

    now = timezone.now()
    with transaction.atomic():
        # Only from "uploaded" (the sweep may just have expired it, or a second click
        # started it already).
        queued = TaskImport.objects.filter(pk=task_import.pk, status=TaskImport.Status.UPLOADED).update(
            status=TaskImport.Status.QUEUED, mode=mode, progressed_at=now
        )
        if not queued:
            raise ValidationError(_("This import was started already."), code="started")
        task_import.status, task_import.mode, task_import.progressed_at = TaskImport.Status.QUEUED, mode, now
        # If the message is lost, the sweep sends it again.
        pending_work_mark(due_at=now + timedelta(minutes=settings.TESSERA_IMPORT_REDISPATCH_MINUTES))
        enqueue_on_commit(import_run_task, args=[task_import.pk], schema_name=connection.schema_name)
    return task_import


def import_discard(*, task_import: TaskImport, actor: Member) -> None:
    """Drop an import that was not started, and its file."""
    _editable(task_import)
    with transaction.atomic():
        files_delete_on_commit([task_import.storage_key] if task_import.storage_key else [])
        task_import.delete()


def import_finish(task_import: TaskImport, *, status: str, reason: str = "", errors: list[RowError], error_count: int):
    task_import.status = status
    task_import.failure_reason = reason
    task_import.errors = [error.as_json() for error in errors[:ERRORS_KEPT]]
    task_import.error_count = error_count
    task_import.finished_at = timezone.now()
    task_import.progress = 100
    if task_import.storage_key:
        files_delete_on_commit([task_import.storage_key])
    task_import.storage_key = ""
    task_import.save(
        update_fields=[
            "status",
            "failure_reason",
            "errors",
            "error_count",
            "finished_at",
            "progress",
            "storage_key",
            "imported_count",
        ]
    )


def _rows(task_import: TaskImport):
    with storage().open(task_import.storage_key, "rb") as binary:
        yield from rows_read(binary, encoding=task_import.encoding, delimiter=task_import.delimiter)


def _run_lock_key(import_id: int) -> tuple[str, int]:
    return f"imports:{connection.schema_name}", import_id


@contextmanager
def import_run_lock(import_id: int) -> Iterator[bool]:
    """Hold the import's run lock (a session advisory lock, released when the run ends or
    its worker's connection dies) if no other run holds it: yields whether it got it."""
    name, number = _run_lock_key(import_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", [name, number])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", [name, number])


def import_run(*, import_id: int) -> str:
    """Run a queued import (the Celery task calls this; idempotent: a finished import is
    left alone, one whose worker died mid-way starts again, since its inserting
    transaction never committed, and a second message for an import that a live worker
    is running is skipped: the run holds import_run_lock).

    First pass: read and check every row, keeping the errors. With all_or_nothing and
    any error: nothing is written, the import fails with the errors. Second pass, in one
    transaction: the valid rows become tasks in batches of TESSERA_IMPORT_BATCH_SIZE."""
    with import_run_lock(import_id) as held:
        if not held:
            return "skipped"
        return _run_claimed(import_id)


def _run_claimed(import_id: int) -> str:
    with transaction.atomic():
        task_import = (
            TaskImport.objects.select_for_update(of=("self",))
            .select_related("project", "requested_by")
            .filter(pk=import_id)
            .first()
        )
        if task_import is None or not task_import.is_active:
            return "skipped"
        task_import.status = TaskImport.Status.RUNNING
        task_import.started_at = task_import.progressed_at = timezone.now()
        task_import.progress = 0
        task_import.attempts += 1
        task_import.save(update_fields=["status", "started_at", "progress", "progressed_at", "attempts"])
    return _run(task_import)


def _run(task_import: TaskImport) -> str:
    import_id = task_import.pk
    project = task_import.project
    actor = task_import.requested_by
    targets = targets_for(project)
    try:
        if project.archived:
            raise ValidationError(_("The project is archived: unarchive it to import tasks."))
        permission_require(member=actor, project=project, codes=import_codes(task_import.mapping, targets))
        reader = RowReader(project=project, headers=task_import.headers, mapping=task_import.mapping, targets=targets)
        errors, bad_rows, total = _check(task_import, reader)
    except (ValidationError, PermissionDenied) as exc:
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        with transaction.atomic():
            import_finish(task_import, status=TaskImport.Status.FAILED, reason=reason, errors=[], error_count=0)
        return "failed"
    if errors and task_import.mode == TaskImport.Mode.ALL_OR_NOTHING:
        reason = _("%(rows)d of %(total)d rows have errors: nothing was imported.") % {
            "rows": len(bad_rows),
            "total": total,
        }
        with transaction.atomic():
            import_finish(
                task_import, status=TaskImport.Status.FAILED, reason=reason, errors=errors, error_count=len(errors)
            )
        return "failed"
    try:
        with transaction.atomic():
            created = _insert(task_import, reader, targets, bad_rows, valid=total - len(bad_rows))
            task_import.imported_count = created
            import_finish(task_import, status=TaskImport.Status.DONE, errors=errors, error_count=len(errors))
            audit_record(
                action="task.imported",
                actor=actor,
                target=audit_target(project, project.key),
                after={
                    "import": task_import.pk,
                    "file": task_import.filename,
                    "tasks": created,
                    "skipped": len(bad_rows),
                },
            )
    except Exception as exc:
        logger.exception("import %s failed", import_id)
        reason = _("The import stopped (%(error)s): nothing was imported.") % {"error": type(exc).__name__}
        if isinstance(exc, ValidationError):
            reason = " ".join(exc.messages)
        task_import.imported_count = 0
        with transaction.atomic():
            import_finish(
                task_import, status=TaskImport.Status.FAILED, reason=reason, errors=errors, error_count=len(errors)
            )
        return "failed"
    return "done"


def _check(task_import: TaskImport, reader: RowReader) -> tuple[list[RowError], set[int], int]:
    errors: list[RowError] = []
    bad_rows: set[int] = set()
    total = 0
    step = settings.TESSERA_IMPORT_BATCH_SIZE
    for line, cells in _rows(task_import):
        total += 1
        result = reader.read(cells)
        if result.errors:
            bad_rows.add(line)
            errors.extend(RowError(line, column, message) for column, message in result.errors)
        if total % step == 0:
            _progress_write(task_import, _CHECK_SHARE * total // max(task_import.row_count, 1), in_transaction=False)
    return errors, bad_rows, total


def _numbers_take(project: Project, count: int) -> int:
    """Take `count` task numbers at once; returns the first. Locks the project row until
    the transaction ends, as one task_create does."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_project SET task_sequence = task_sequence + %s WHERE id = %s RETURNING task_sequence",
            [count, project.pk],
        )
        return cursor.fetchone()[0] - count + 1


def _labels_ensure(project: Project, names: set[str], known: dict[str, int]) -> None:
    """Create the labels of `names` the project lacks; `known` maps lower-cased name to id."""
    missing = {name.casefold(): name for name in names if name.casefold() not in known}
    if not missing:
        return
    Label.objects.bulk_create([Label(project=project, name=name) for name in missing.values()], ignore_conflicts=True)
    for pk, name in Label.objects.filter(project=project, name__in=list(missing.values())).values_list("pk", "name"):
        known[name.casefold()] = pk
    # A concurrent writer may have created one with other casing.
    if any(key not in known for key in missing):
        for pk, name in Label.objects.filter(project=project).values_list("pk", "name"):
            known.setdefault(name.casefold(), pk)


# The rows every imported task gets besides itself (links, its Activity, its watcher) are
# written with one INSERT ... SELECT FROM unnest(...) each per batch: no model instance per
# row (the ORM's per-object work was most of an import's Python time, measured).


def _links_insert(through, column: str, pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    table = connection.ops.quote_name(through._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (task_id, {column}) SELECT * FROM unnest(%s::bigint[], %s::bigint[])",  # noqa: S608
            [[a for a, _b in pairs], [b for _a, b in pairs]],
        )


def _per_task_insert(ids: list[int], *, actor: Member, import_id: int) -> None:
    activity = connection.ops.quote_name(Activity._meta.db_table)
    watcher = connection.ops.quote_name(Watcher._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {activity} (task_id, actor_id, kind, field, old_value, new_value, created_at) "
            "SELECT unnest(%s::bigint[]), %s, %s, 'import', NULL, %s::jsonb, now()",
            [ids, actor.pk, Activity.Kind.CREATED, json.dumps({"import": import_id})],
        )
        cursor.execute(
            f"INSERT INTO {watcher} (task_id, member_id, created_at) "
            "SELECT unnest(%s::bigint[]), %s, now() ON CONFLICT DO NOTHING",
            [ids, actor.pk],
        )


def _insert(task_import: TaskImport, reader: RowReader, targets: list[Target], bad_rows: set[int], valid: int) -> int:
    if valid == 0:
        return 0
    project = task_import.project
    actor = task_import.requested_by
    number = _numbers_take(project, valid)
    rank = Task.objects.filter(project=project).order_by("-rank").values_list("rank", flat=True).first() or None
    labels = {name.casefold(): pk for pk, name in Label.objects.filter(project=project).values_list("pk", "name")}
    extra = [target for target in targets if target.save is not None]
    step = settings.TESSERA_IMPORT_BATCH_SIZE
    state_of = state_resolver(project)
    now = timezone.now()
    batch: list[tuple[Task, dict[str, Any]]] = []
    created = 0

    def flush() -> None:
        nonlocal created
        _labels_ensure(project, {name for _task, values in batch for name in values.get("labels", ())}, labels)
        tasks = Task.objects.bulk_create([task for task, _values in batch])
        ids = [task.pk for task in tasks]
        assignee_pairs = [(task.pk, m.pk) for task, values in batch for m in values.get("assignees", ())]
        label_pairs = [
            (task.pk, labels[name.casefold()]) for task, values in batch for name in values.get("labels", ())
        ]
        _links_insert(Task.assignees.through, "member_id", assignee_pairs)
        _links_insert(Task.labels.through, "label_id", label_pairs)
        _per_task_insert(ids, actor=actor, import_id=task_import.pk)
        for target in extra:
            pairs = [(task, values[target.key]) for task, values in batch if target.key in values]
            if pairs:
                target.save(pairs)
        created += len(tasks)
        batch.clear()
        _progress_write(task_import, _CHECK_SHARE + (100 - _CHECK_SHARE) * created // valid, in_transaction=True)

    for line, cells in _rows(task_import):
        if line in bad_rows:
            continue
        result = reader.read(cells)
        if result.errors:  # the file cannot change between the passes; a guard, not a path
            raise ValidationError(_("Row %(row)d changed between the passes.") % {"row": line})
        if created + len(batch) == valid:
            break
        values = result.values
        rank = rank_between(rank, None)
        state = state_of(values.get("state"))
        status = state.category
        task = Task(
            project=project,
            number=number + created + len(batch),
            rank=rank,
            title=values["title"],
            description=values.get("description", ""),
            state=state,
            status=status,
            priority=values.get("priority", 0),
            due_date=values.get("due_date"),
            reporter=actor,
            completed_at=now if status == TaskStatus.DONE else None,
        )
        batch.append((task, values))
        if len(batch) == step:
            flush()
    if batch:
        flush()
    if created != valid:
        raise ValidationError(_("The file changed between the passes."))
    task_counts_invalidate()
    live_bump(project_id=project.pk)
    return created
