from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, F, OuterRef, QuerySet, Sum, Window
from django.db.models.functions import JSONObject
from rest_framework.fields import DateTimeField

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.tasks.filters import PRIORITY_NAMES
from tenant_apps.tasks.models import Attachment, Label, Task

# The columns a task's JSON shows, fetched as plain values: no model instances and no
# serializer fields on the hot path (docs/benchmarks.md, "Task list").
_COLUMNS = (
    "id",
    "number",
    "title",
    "description",
    "status",
    "priority",
    "due_date",
    "created_at",
    "updated_at",
    "completed_at",
    "version",
    "project_key",
    "reporter_id",
    "reporter__display_name",
    "reporter__email",
    "assignee_list",
    "label_list",
)
_datetime = DateTimeField()  # the same rendering as every serializer's date-times


def _assignees() -> ArraySubquery:
    people = Member.objects.filter(assigned_tasks=OuterRef("pk")).order_by("display_name", "email", "pk")
    return ArraySubquery(people.values(json=JSONObject(id="id", display_name="display_name", email="email")))


def _labels() -> ArraySubquery:
    labels = Label.objects.filter(tasks=OuterRef("pk")).order_by("name", "pk")
    return ArraySubquery(labels.values(json=JSONObject(id="id", name="name", color="color")))


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    """One row of `_COLUMNS` in the shape of TaskOutputSerializer (without description_html)."""
    reporter = None
    if row["reporter_id"] is not None:
        reporter = {
            "id": row["reporter_id"],
            "display_name": row["reporter__display_name"],
            "email": row["reporter__email"],
        }
    due = row["due_date"]
    completed = row["completed_at"]
    return {
        "key": f"{row['project_key']}-{row['number']}",
        "number": row["number"],
        "project": row["project_key"],
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "priority": PRIORITY_NAMES[row["priority"]],
        "reporter": reporter,
        "assignees": row["assignee_list"],
        "labels": row["label_list"],
        "due_date": due.isoformat() if due is not None else None,
        "created_at": _datetime.to_representation(row["created_at"]),
        "updated_at": _datetime.to_representation(row["updated_at"]),
        "completed_at": _datetime.to_representation(completed) if completed is not None else None,
        "version": row["version"],
    }


def _rows(tasks: QuerySet[Task], *extra: str) -> QuerySet:
    return tasks.annotate(project_key=F("project__key"), assignee_list=_assignees(), label_list=_labels()).values(
        *_COLUMNS, *extra
    )


def task_page(tasks: QuerySet[Task], *, offset: int, limit: int, counted: bool) -> tuple[list[dict], int | None]:
    """One page of `tasks` (filtered and ordered) as JSON-ready dicts, with assignees,
    labels, project and reporter, in one SQL statement whatever the page size.

    With `counted`, the total number of matches comes from the same statement
    (`COUNT(*) OVER ()`): worth it when the query must visit every match anyway (a
    ranked search). It is None when the page is empty, and the caller must count."""
    if counted:
        rows = list(_rows(tasks.annotate(total=Window(Count("*"))), "total")[offset : offset + limit])
        total = rows[0]["total"] if rows else None
    else:
        rows = list(_rows(tasks)[offset : offset + limit])
        total = None
    return [_as_json(row) for row in rows], total


def task_detail(tasks: QuerySet[Task], **lookup) -> tuple[int, dict] | None:
    """The id and JSON-ready dict of the task of `tasks` matching `lookup` (None if there
    is none), in one statement."""
    row = _rows(tasks.filter(**lookup)).first()
    return (row["id"], _as_json(row)) if row is not None else None


def organization_usage() -> dict[str, int]:
    """What the organisation uses (call in its schema): the figures billing limits."""
    return {
        "members": Member.objects.filter(is_active=True).count(),
        "projects": Project.objects.count(),
        "tasks": Task.objects.count(),
        "storage_bytes": Attachment.objects.aggregate(total=Sum("size"))["total"] or 0,
    }
