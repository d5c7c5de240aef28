from typing import Any

from django.db.models import Count, Expression, F, JSONField, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from rest_framework.fields import DateTimeField

from shared_apps.tenants.models import Organization
from tenant_apps.tasks.filters import PRIORITY_NAMES
from tenant_apps.tasks.models import Attachment, Task, TaskStatus

# "Closed" = a task in one of these status categories; everything else is open. The one
# place that says so (sub-task progress, closing a parent with open children, time
# roll-ups' open counts): the workflow-state categories keep these two values.
CLOSED_STATUSES = (TaskStatus.DONE, TaskStatus.CANCELLED)


def closed_q(prefix: str = "") -> Q:
    """Tasks that are closed (done or cancelled); `prefix` reaches them through a relation."""
    return Q(**{f"{prefix}status__in": CLOSED_STATUSES})


_CLOSED_SQL = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)  # fixed values, no input

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
    "rank",
    "project_key",
    "reporter_id",
    "reporter__display_name",
    "reporter__email",
    "assignee_list",
    "label_list",
    "parent__number",
    "parent__project__key",
    "estimate",
    "project__estimate_unit",
    "subtask_progress",
    "time_spent_minutes",
    "time_total_minutes",
)
_datetime = DateTimeField()  # the same rendering as every serializer's date-times


class _PerTaskJSON(Expression):
    """A correlated subquery building a JSON array for the task of the outer row, as
    fixed SQL. Equivalent to an ArraySubquery of JSONObject values, which costs ~2.5 ms
    of Python per page just to compile (this: ~0.05 ms)."""

    output_field = JSONField()

    def __init__(self, sql: str) -> None:
        super().__init__()
        self.sql = sql

    def as_sql(self, compiler, connection):
        task = compiler.quote_name_unless_alias(compiler.query.base_table)
        return self.sql.replace("{task}", task), []


# jsonb: Django's connection hands jsonb over as text, for JSONField to decode once.
_ASSIGNEES = """(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', m.id, 'display_name', m.display_name,
    'email', m.email) ORDER BY m.display_name, m.email, m.id), '[]')
    FROM tasks_task_assignees a JOIN members_member m ON m.id = a.member_id WHERE a.task_id = {task}.id)"""
_LABELS = """(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', l.id, 'name', l.name, 'color', l.color)
    ORDER BY l.name, l.id), '[]')
    FROM tasks_task_labels tl JOIN tasks_label l ON l.id = tl.label_id WHERE tl.task_id = {task}.id)"""


# Sub-task progress: the direct children, closed / all (docs/subtasks.md).
_SUBTASKS = f"""(SELECT jsonb_build_object('closed', COUNT(*) FILTER (WHERE c.status IN ({_CLOSED_SQL})),
    'total', COUNT(*)) FROM tasks_task c WHERE c.parent_id = {{task}}.id)"""  # noqa: S608 (constants only)


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
        "rank": row["rank"],
        "parent": f"{row['parent__project__key']}-{row['parent__number']}" if row["parent__number"] else None,
        "subtasks": row["subtask_progress"],
        "estimate": float(row["estimate"]) if row["estimate"] is not None else None,
        "estimate_unit": row["project__estimate_unit"],
        "time_spent_minutes": row["time_spent_minutes"],
        "time_total_minutes": row["time_total_minutes"],
    }


def _rows(tasks: QuerySet[Task], *extra: str) -> QuerySet:
    return tasks.annotate(
        project_key=F("project__key"),
        assignee_list=_PerTaskJSON(_ASSIGNEES),
        label_list=_PerTaskJSON(_LABELS),
        subtask_progress=_PerTaskJSON(_SUBTASKS),
    ).values(*_COLUMNS, *extra)


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


def storage_bytes_used(organization: Organization | None = None) -> int:
    """Bytes of attachments stored (call in the organisation's schema): the figure the
    plan's storage allowance limits."""
    return Attachment.objects.aggregate(total=Sum("size"))["total"] or 0


BOARD_COLUMN_SIZE = 100


def board_cards(
    tasks: QuerySet[Task], *, statuses: list[str], offset: int = 0, limit: int = BOARD_COLUMN_SIZE
) -> dict[str, tuple[list[dict], bool]]:
    """The board: for each of `statuses`, its cards in rank order from position `offset`
    (at most `limit`), and whether more follow. One SQL statement whatever the number of
    columns or cards: a row number per status, cut in the database."""
    ranked = tasks.filter(status__in=statuses).annotate(
        position=Window(RowNumber(), partition_by=[F("status")], order_by=[F("rank").asc(), F("number").asc()])
    )
    rows = _rows(ranked, "position").filter(position__gt=offset, position__lte=offset + limit + 1)
    columns: dict[str, list[dict]] = {status: [] for status in statuses}
    for row in sorted(rows, key=lambda row: (row["status"], row["position"])):
        columns[row["status"]].append(_as_json(row))
    return {status: (cards[:limit], len(cards) > limit) for status, cards in columns.items()}


def board_counts(tasks: QuerySet[Task]) -> dict[str, int]:
    """How many of `tasks` are in each status (one statement)."""
    return dict(tasks.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
