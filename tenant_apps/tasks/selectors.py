from typing import Any

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Expression, F, JSONField, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND, WhereNode
from rest_framework.fields import DateTimeField

from shared_apps.tenants.models import Organization
from shared_apps.tenants.permissions import ACCESS_CACHE
from tenant_apps.members.models import Member
from tenant_apps.projects.cache import PERMISSIONS_CACHE
from tenant_apps.projects.models import Project
from tenant_apps.projects.selectors import project_assignable_members
from tenant_apps.tasks.filters import PRIORITY_NAMES, AssignedTo
from tenant_apps.tasks.live import live_scope_project, live_version
from tenant_apps.tasks.models import Attachment, Label, Task, TaskStatus

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
    "state_id",
    "state__name",
    "state__colour",
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
    "custom_field_values",
    "parent__number",
    "parent__project__key",
    "estimate",
    "project__estimate_unit",
    "subtask_progress",
    "time_spent_minutes",
    "time_total_minutes",
    "blocker_list",
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


# Custom field values (tenant_apps/fields): {"<field id>": value} of the task's own
# project's fields; option and member ids, a list for a multi select.
_CUSTOM_FIELDS = """(SELECT COALESCE(jsonb_object_agg(x.field_id::text, x.value), '{}') FROM (
    SELECT v.field_id, CASE WHEN f.kind = 'multi_select' THEN jsonb_agg(v.value_option_id ORDER BY v.value_option_id)
        ELSE (array_agg(COALESCE(to_jsonb(v.value_text), to_jsonb(v.value_number), to_jsonb(v.value_date),
            to_jsonb(v.value_bool), to_jsonb(v.value_option_id), to_jsonb(v.value_member_id))))[1] END AS value
    FROM fields_customfieldvalue v JOIN fields_customfield f ON f.id = v.field_id
    WHERE v.task_id = {task}.id AND f.project_id = {task}.project_id GROUP BY v.field_id, f.kind) x)"""
# Sub-task progress: the direct children, closed / all (docs/subtasks.md).
_SUBTASKS = f"""(SELECT jsonb_build_object('closed', COUNT(*) FILTER (WHERE c.status IN ({_CLOSED_SQL})),
    'total', COUNT(*)) FROM tasks_task c WHERE c.parent_id = {{task}}.id)"""  # noqa: S608 (constants only)


# The open tasks blocking this one (issue 15 relations): keys, in number order. Served by
# the relation table's (target, kind) index; most tasks have none.
_BLOCKERS = f"""(SELECT COALESCE(jsonb_agg(bp.key || '-' || b.number ORDER BY bp.key, b.number), '[]')
    FROM tasks_taskrelation r JOIN tasks_task b ON b.id = r.source_id JOIN projects_project bp ON bp.id = b.project_id
    WHERE r.target_id = {{task}}.id AND r.kind = 'blocks' AND b.status NOT IN ({_CLOSED_SQL}))"""  # noqa: S608 (constants only)


# Without search, a list's count stops here (or at the end of the requested page, if
# further), in the API and on the list page: an exact count of a million tasks costs more
# than the page itself (34 ms of the list page's 60 ms at 1M, before it was capped).
TASK_COUNT_CAP = 10_000


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
        "state": {"id": row["state_id"], "name": row["state__name"], "colour": row["state__colour"]},
        "priority": PRIORITY_NAMES[row["priority"]],
        "reporter": reporter,
        "assignees": row["assignee_list"],
        "labels": row["label_list"],
        "blocked_by": row["blocker_list"],
        "due_date": due.isoformat() if due is not None else None,
        "created_at": _datetime.to_representation(row["created_at"]),
        "updated_at": _datetime.to_representation(row["updated_at"]),
        "completed_at": _datetime.to_representation(completed) if completed is not None else None,
        "version": row["version"],
        "rank": row["rank"],
        "custom_fields": row["custom_field_values"],
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
        custom_field_values=_PerTaskJSON(_CUSTOM_FIELDS),
        subtask_progress=_PerTaskJSON(_SUBTASKS),
        blocker_list=_PerTaskJSON(_BLOCKERS),
    ).values(*_COLUMNS, *extra)


def task_page(
    tasks: QuerySet[Task], *, offset: int, limit: int, counted: bool = False, window_order: tuple | None = None
) -> tuple[list[dict], int | None]:
    """One page of `tasks` (filtered and ordered) as JSON-ready dicts, with assignees,
    labels, project and reporter, in one SQL statement whatever the page size.

    The page's task ids are chosen first, by a subquery that selects nothing but ids in
    the list's order (which an index-only scan can often serve: the assignee filter
    probes the link table from the order index without visiting a task), and only those
    rows are then joined, sorted again and dressed: at a million tasks the planner
    otherwise joined projects, states, reporters and parents for every match before the
    sort (docs/benchmarks.md, "Search at a million tasks").

    With `window_order`, the page's ids are those of that order (e.g. most recently
    updated first) while the rows come in `tasks`' own order: a page of a broad search,
    ranked within itself. With `counted`, the total number of matches comes from the
    same statement (`COUNT(*) OVER ()`, a pass over every match); None when the page is
    empty, and the caller must count."""
    if counted:
        rows = list(_rows(tasks.annotate(total=Window(Count("*"))), "total")[offset : offset + limit])
        return [_as_json(row) for row in rows], rows[0]["total"] if rows else None
    window = tasks.order_by(*window_order) if window_order else tasks
    ids = window.values("pk")[offset : offset + limit]
    page = _unfiltered(tasks).filter(pk__in=ids)
    if window_order:
        page = page.order_by(tasks.query.order_by[0], *window_order)
    return [_as_json(row) for row in _rows(page)], None


def _unfiltered(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """`tasks` without its conditions, its joins, annotations and order kept: the outer
    query of a page, whose rows are chosen by id from `tasks` itself in the same statement
    and so meet every condition already. Applied again, each EXISTS (an assignee's, a
    label's) was probed a second time for the page's rows and planned twice. Like the
    list filters, `tasks` must not join a to-many relation (it would repeat rows, and
    more so without the condition on the joined rows): conditions on them are EXISTS."""
    page = tasks.all()
    page.query.where = WhereNode()
    return page


def task_count_upto(tasks: QuerySet[Task], limit: int, *, searching: bool = False) -> int:
    """How many of `tasks` there are, counting at most `limit`.

    A search's count is planned for every match, then stopped at `limit` (a MATERIALIZED
    CTE, read only as far as the LIMIT): planned with the LIMIT, PostgreSQL expects a
    sequential scan to meet enough matches soon and reads the table row by row (2.4 s
    for a common Russian prefix at a million tasks, EXPLAIN ANALYZE), where the
    full-text index's bitmap visits only the rows it counts.

    A list whose only condition is the assignee filter (one person's tasks across the
    organisation, as owners, admins and members see it) is counted from the assignments:
    each names an existing task (a foreign key), so the task table need not be probed
    once for each of them (10,269 probes, 12.7 ms, at a million tasks; an index range
    instead)."""
    assigned = _assigned_only(tasks)
    if assigned is not None:
        return assigned.count_upto(limit)
    pks = tasks.order_by().values("pk")
    if not searching:
        return pks[:limit].count()
    try:
        sql, params = pks.query.sql_with_params()
    except EmptyResultSet:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH matches AS MATERIALIZED ({sql}) SELECT count(*) FROM (SELECT 1 FROM matches LIMIT %s) s",  # noqa: S608 (compiled by the ORM; values are parameters)
            [*params, limit],
        )
        return cursor.fetchone()[0]


def _assigned_only(tasks: QuerySet[Task]) -> AssignedTo | None:
    """The assignee filter of `tasks` when it is their only condition: no project, no
    visibility scope, no other filter."""
    query = tasks.query
    if query.distinct or query.combinator or query.is_sliced:
        return None
    where = query.where
    if where.connector != AND or where.negated or len(where.children) != 1:
        return None
    condition = where.children[0]
    if isinstance(condition, Exact) and isinstance(condition.lhs, AssignedTo) and condition.rhs is True:
        return condition.lhs
    return None


def task_search_window(
    tasks: QuerySet[Task], *, limit: int, offset: int, size: int, descending: bool
) -> tuple[int, list[int]]:
    """For a search ordered by relevance (`descending`: most relevant first): how many
    matches there are, counting at most `limit`, and — when that is all of them — the
    ids of the page at `offset` (`size` long) in relevance order, ties by id. One pass
    over at most `limit` matches through the full-text index (planned for every match,
    read only as far as the LIMIT: see `task_count_upto`), ranking each as it is read."""
    pairs = tasks.order_by().values("pk", "relevance")
    try:
        sql, params = pairs.query.sql_with_params()
    except EmptyResultSet:
        return 0, []
    direction = "DESC" if descending else "ASC"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH matches AS MATERIALIZED ({sql}), found AS (SELECT * FROM matches LIMIT %s) "  # noqa: S608 (compiled by the ORM; values are parameters)
            f"SELECT count(*), (array_agg(pk ORDER BY relevance {direction}, pk {direction}))[%s:%s] FROM found",
            [*params, limit, offset + 1, offset + size],
        )
        counted, ids = cursor.fetchone()
    return counted, list(ids or [])


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
# What a board card shows: no description, reporter or timestamps (a board fetches up
# to 500 cards; those columns were a third of its rows' bytes and decoding).
_CARD_COLUMNS = ("id", "number", "title", "status", "state_id", "state__name", "state__colour", "priority",
                 "due_date", "version", "rank", "project_key", "assignee_list", "label_list", "blocker_list",
                 "custom_field_values", "subtask_progress")  # fmt: skip


def _card(row: dict[str, Any]) -> dict[str, Any]:
    """A board card: the fields of the task's JSON (`_as_json`) a card shows, same names."""
    due = row["due_date"]
    return {
        "key": f"{row['project_key']}-{row['number']}",
        "number": row["number"],
        "title": row["title"],
        "status": row["status"],
        "state": {"id": row["state_id"], "name": row["state__name"], "colour": row["state__colour"]},
        "priority": PRIORITY_NAMES[row["priority"]],
        "assignees": row["assignee_list"],
        "labels": row["label_list"],
        "blocked_by": row["blocker_list"],
        "custom_fields": row["custom_field_values"],
        "subtasks": row["subtask_progress"],
        "due_date": due.isoformat() if due is not None else None,
        "version": row["version"],
        "rank": row["rank"],
    }


def board_cards(
    tasks: QuerySet[Task], *, states: list[int], offset: int = 0, limit: int = BOARD_COLUMN_SIZE
) -> dict[int, tuple[list[dict], bool]]:
    """The board: for each of `states` (workflow state ids), its cards in rank order
    from position `offset` (at most `limit`), and whether more follow. One SQL statement
    whatever the number of columns or cards: a row number per state, cut in the
    database."""
    ranked = tasks.filter(state_id__in=states).annotate(
        position=Window(RowNumber(), partition_by=[F("state_id")], order_by=[F("rank").asc(), F("number").asc()])
    )
    rows = (
        ranked.annotate(
            project_key=F("project__key"),
            assignee_list=_PerTaskJSON(_ASSIGNEES),
            label_list=_PerTaskJSON(_LABELS),
            blocker_list=_PerTaskJSON(_BLOCKERS),
            custom_field_values=_PerTaskJSON(_CUSTOM_FIELDS),
            subtask_progress=_PerTaskJSON(_SUBTASKS),
        )
        .values(*_CARD_COLUMNS, "position")
        .filter(position__gt=offset, position__lte=offset + limit + 1)
    )
    columns: dict[int, list[dict]] = {state: [] for state in states}
    for row in sorted(rows, key=lambda row: (row["state_id"], row["position"])):
        columns[row["state_id"]].append(_card(row))
    return {state: (cards[:limit], len(cards) > limit) for state, cards in columns.items()}


def board_counts(tasks: QuerySet[Task]) -> dict[int, int]:
    """How many of `tasks` are in each workflow state, by state id (one statement)."""
    return dict(tasks.order_by().values_list("state_id").annotate(n=Count("pk")).values_list("state_id", "n"))


_MEMBER_FIELDS = [field.attname for field in Member._meta.concrete_fields]
_LABEL_FIELDS = [field.attname for field in Label._meta.concrete_fields]
_CHOICES_TTL_SECONDS = 600


def project_filter_choices_keys(project: Project) -> tuple[str, str]:
    """The cache keys of `project`'s filter-bar people and labels: they change whenever
    what they hold may have (versions read once a request: no round trip of their own)."""
    return (
        PERMISSIONS_CACHE.key("filter-people", ACCESS_CACHE.version(), project.pk),
        f"filter-labels:{project.pk}:{live_version(live_scope_project(project.pk))}",
    )


def project_filter_choices(project: Project) -> tuple[list[Member], list[Label]]:
    """The people (project_assignable_members) and labels (by name) a filter bar offers
    for `project`, from the cache: both come in one round trip and no SQL while nothing
    changed. The people are keyed by the member and permission versions (every change to
    a member, a role or a project membership bumps one of them), the labels by the
    project's live version (label_save and label_delete bump it, as every task write)."""
    people_key, labels_key = project_filter_choices_keys(project)
    found = cache.get_many([people_key, labels_key])
    if people_key in found:
        people = [Member.from_db("default", _MEMBER_FIELDS, row) for row in found[people_key]]
    else:
        people = project_assignable_members(project)
        rows = [[getattr(person, name) for name in _MEMBER_FIELDS] for person in people]
        cache.set(people_key, rows, _CHOICES_TTL_SECONDS)
    if labels_key in found:
        labels = [Label.from_db("default", _LABEL_FIELDS, row) for row in found[labels_key]]
    else:
        labels = list(Label.objects.filter(project=project).order_by("name", "pk"))
        rows = [[getattr(label, name) for name in _LABEL_FIELDS] for label in labels]
        cache.set(labels_key, rows, _CHOICES_TTL_SECONDS)
    return people, labels
