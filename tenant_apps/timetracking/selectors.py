"""Reads of time entries."""

import re

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tenant_apps.tasks.models import Task
from tenant_apps.timetracking.models import TimeEntry


def time_entries_of(task: Task) -> QuerySet[TimeEntry]:
    """The task's entries, newest day first, with their people (one query)."""
    return TimeEntry.objects.filter(task=task).select_related("member").order_by("-date", "-pk")


def time_totals(task: Task) -> dict[str, int]:
    """Minutes logged on `task` itself (`spent`) and on it with all its sub-tasks at any
    depth (`total`), as the services keep them (tenant_apps/tasks/tree.py)."""
    spent, total = Task.objects.filter(pk=task.pk).values_list("time_spent_minutes", "time_total_minutes").get()
    return {"spent": spent, "total": total}


def time_totals_recomputed(task: Task) -> dict[str, int]:
    """The same figures computed from the entries by walking the subtree (one statement):
    what the kept columns must always equal (the tests compare them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH RECURSIVE tree(id) AS (SELECT %s::bigint UNION SELECT c.id FROM tasks_task c
                   JOIN tree ON c.parent_id = tree.id)
               SELECT COALESCE(SUM(e.minutes) FILTER (WHERE e.task_id = %s), 0), COALESCE(SUM(e.minutes), 0)
               FROM tree JOIN timetracking_timeentry e ON e.task_id = tree.id""",
            [task.pk, task.pk],
        )
        spent, total = cursor.fetchone()
    return {"spent": spent, "total": total}


_DURATION = re.compile(
    r"^\s*(?:(?P<hours>\d{1,2}(?:[.,]\d{1,2})?)\s*(?:h|ч)\s*)?(?:(?P<minutes>\d{1,4})\s*(?:m|min|м|мин)?\s*)?$",
    re.IGNORECASE,
)


def duration_parse(text: str) -> int | None:
    """Minutes from what people type: `90`, `90m`, `1h 30m`, `1.5h`, `2ч 15м`. None if
    it is not a duration (the caller says so)."""
    match = _DURATION.match(text or "")
    if match is None or not (match["hours"] or match["minutes"]):
        return None
    hours = float(match["hours"].replace(",", ".")) if match["hours"] else 0.0
    return round(hours * 60) + int(match["minutes"] or 0)


def minutes_display(minutes: int) -> str:
    """`1h 30m`, `2h`, `45m` (`1ч 30м` in Russian)."""
    hours, rest = divmod(int(minutes or 0), 60)
    if hours and rest:
        return _("%(hours)dh %(minutes)dm") % {"hours": hours, "minutes": rest}
    return _("%(hours)dh") % {"hours": hours} if hours else _("%(minutes)dm") % {"minutes": rest}
