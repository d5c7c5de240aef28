"""Writes to time entries. Call inside the organisation's schema. Every write needs
`time.log` in the task's project; an entry is its author's own (only they edit or delete
it). Each write records an Activity row on the task (field `time`) in the same
transaction and bumps the task's live version."""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenant_apps.members.models import Member
from tenant_apps.projects.permissions import permission_require
from tenant_apps.tasks.live import live_bump
from tenant_apps.tasks.models import Activity, Task
from tenant_apps.tasks.tree import task_time_add
from tenant_apps.timetracking.models import MAX_ENTRY_MINUTES, TimeEntry

_NOTE_MAX = 500


def _validate(*, minutes: int, day: date, note: str) -> None:
    errors = {}
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_ENTRY_MINUTES:
        errors["minutes"] = _("Between 1 minute and 24 hours.")
    # A day ahead at most: the organisation's "today" may be tomorrow where the person is.
    if day > timezone.localdate() + timedelta(days=1):
        errors["date"] = _("Time cannot be logged on a future day.")
    if len(note) > _NOTE_MAX:
        errors["note"] = _("At most %(limit)d characters.") % {"limit": _NOTE_MAX}
    if errors:
        raise ValidationError(errors)


def _record(*, task_id: int, actor: Member, old, new) -> None:
    Activity.objects.create(
        task_id=task_id, actor=actor, kind=Activity.Kind.CHANGED, field="time", old_value=old, new_value=new
    )


def _as_value(entry: TimeEntry) -> dict:
    return {"entry": entry.pk, "minutes": entry.minutes, "date": entry.date.isoformat()}


def time_entry_create(*, task: Task, actor: Member, minutes: int, day: date, note: str = "") -> TimeEntry:
    """`actor` logs `minutes` of work on `task` on `day`. Needs time.log."""
    permission_require(member=actor, project=task.project, codes="time.log")
    note = note.strip()
    _validate(minutes=minutes, day=day, note=note)
    with transaction.atomic():
        entry = TimeEntry.objects.create(task=task, member=actor, date=day, minutes=minutes, note=note)
        task_time_add(task_id=task.pk, minutes=minutes)
        _record(task_id=task.pk, actor=actor, old=None, new=_as_value(entry))
        live_bump(project_id=task.project_id, task_id=task.pk)
    return entry


def _own(entry: TimeEntry, actor: Member, message: str) -> None:
    permission_require(member=actor, project=entry.task.project, codes="time.log")
    if entry.member_id != actor.pk:
        raise PermissionDenied(message)


def time_entry_update(
    *, entry: TimeEntry, actor: Member, minutes: int | None = None, day: date | None = None, note: str | None = None
) -> TimeEntry:
    """Change your own entry (the fields given). Needs time.log."""
    _own(entry, actor, _("You can change only your own time entries."))
    with transaction.atomic():
        current = TimeEntry.objects.select_for_update().get(pk=entry.pk)
        before = _as_value(current)
        current.minutes = current.minutes if minutes is None else minutes
        current.date = current.date if day is None else day
        current.note = current.note if note is None else note.strip()
        _validate(minutes=current.minutes, day=current.date, note=current.note)
        current.save(update_fields=["minutes", "date", "note", "updated_at"])
        task_time_add(task_id=current.task_id, minutes=current.minutes - before["minutes"])
        if _as_value(current) != before:
            _record(task_id=current.task_id, actor=actor, old=before, new=_as_value(current))
        live_bump(project_id=entry.task.project_id, task_id=current.task_id)
    return current


def time_entry_delete(*, entry: TimeEntry, actor: Member) -> None:
    """Delete your own entry. Needs time.log."""
    _own(entry, actor, _("You can delete only your own time entries."))
    with transaction.atomic():
        _record(task_id=entry.task_id, actor=actor, old=_as_value(entry), new=None)
        task_time_add(task_id=entry.task_id, minutes=-entry.minutes)
        entry.delete()
        live_bump(project_id=entry.task.project_id, task_id=entry.task_id)
