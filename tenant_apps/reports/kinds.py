"""The registry of report kinds: which parameters each takes, how they are validated, and
the function that turns the tenant's data into columns, streamed rows and a summary.

Every kind reads only the projects it is given (the requester's scope, decided at
generation time by `selectors.report_scope`), streams its rows from a server-side
cursor in chunks, and computes its summary with aggregate queries, so memory does not
grow with the number of tasks."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DurationField,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, TruncWeek
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from tenant_apps.fields.filters import field_filters_parse, field_params_split, is_field_param, project_fields
from tenant_apps.fields.selectors import report_field_columns
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.selectors import projects_visible_to, projects_where_member_may
from tenant_apps.tasks.filters import TaskFilter
from tenant_apps.tasks.models import Label, Task, TaskPriority, TaskStatus
from tenant_apps.timetracking.models import TimeEntry

# Rows fetched per round trip from the server-side cursor.
CHUNK_SIZE = 2000
# The open categories of workflow states (a task in review is in progress).
OPEN_STATUSES = (TaskStatus.BACKLOG, TaskStatus.TODO, TaskStatus.IN_PROGRESS)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # lazily translated for the built-in columns; a custom field's name
    # text, int, float, date, datetime: how the writers format the cell.
    type: str = "text"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[tuple]

    def as_json(self) -> list[dict[str, Any]]:
        return [dict(zip([c.key for c in self.columns], _json_row(row), strict=True)) for row in self.rows]


@dataclass
class Summary:
    """Figures (label and value) and small tables: what a reader looks at first."""

    figures: list[tuple[str, str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "figures": {key: _json_value(value) for key, _label, value in self.figures},
            "tables": {table.key: table.as_json() for table in self.tables},
        }


@dataclass
class SqlRows:
    """A kind's rows as one SQL statement: `tasks` filtered and in the report's order,
    `values` one typed expression per column (text, integer, float, date, timestamptz).
    The CSV and XLSX writers wrap each value in its cell's formatting and let
    PostgreSQL write the file's lines (`COPY ... TO STDOUT`); `python_rows` reads the
    same values for the JSON writer."""

    tasks: QuerySet[Task]
    columns: list[Column]
    values: list[Expression]
    tz: ZoneInfo

    def statement(
        self,
        cells: Callable[[list[Expression], list[Column]], dict[str, Expression]],
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[str, tuple]:
        """The SELECT of `cells(values, columns)` (name -> expression, in order) over the
        tasks, in their order, optionally one slice of them."""  # fmt: skip
        annotations = cells(self.values, self.columns)
        query = self.tasks.annotate(**annotations).values_list(*annotations)
        if limit is not None:
            query = query[offset : offset + limit]
        return query.query.sql_with_params()

    def python_rows(self) -> Iterator[tuple]:
        names = [f"_c{index}" for index in range(len(self.values))]
        stream = (
            self.tasks.annotate(**dict(zip(names, self.values, strict=True)))
            .values_list(*names)
            .iterator(chunk_size=CHUNK_SIZE)
        )
        kinds = [column.type for column in self.columns]
        tz = self.tz
        for row in stream:
            yield tuple(_python_cell(value, kind, tz) for value, kind in zip(row, kinds, strict=True))


def _python_cell(value: Any, kind: str, tz: ZoneInfo) -> Any:
    if value is None:
        return "" if kind == "text" else None
    if kind == "datetime":
        return value.astimezone(tz)
    if kind == "float":
        return float(value)
    return value


@dataclass
class ReportData:
    title: str
    columns: list[Column]
    total: int  # rows the iterator will yield (for progress)
    rows: Iterator[tuple]
    summary: Summary
    # The same rows as SQL, for the writers that let PostgreSQL format them (task kinds).
    sql_rows: SqlRows | None = None


@dataclass(frozen=True)
class Scope:
    """What a generation may read: the projects (a queryset, used as a subquery), the
    organisation's time zone and the validated parameters."""

    projects: QuerySet[Project]
    tz: ZoneInfo
    params: dict[str, Any]
    now: datetime


@dataclass(frozen=True)
class ReportKind:
    code: str
    title: str  # lazily translated
    description: str
    params: tuple[str, ...]
    required: tuple[str, ...]
    build: Callable[[Scope], ReportData]


# --- Parameters -------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json_row(row: tuple) -> list:
    return [_json_value(value) for value in row]


# An id as people type it: ASCII digits, within bigint.
_ID = re.compile(r"[0-9]{1,12}")
# Years a period may name: far enough for any real report, far from datetime's limits.
_YEARS = range(1900, 2200)


def _parse_moment(raw: Any, *, name: str, tz: ZoneInfo) -> tuple[str, datetime]:
    """A date (midnight in the organisation's zone) or an ISO date-time (without an
    offset: in the organisation's zone). Returns its canonical text and the instant."""
    text = str(raw).strip() if raw is not None else ""
    try:
        day = parse_date(text) if len(text) == 10 else None
        moment = None if day else parse_datetime(text)
    except ValueError:  # well-formed but impossible, e.g. 2026-13-01
        day = moment = None
    if (day or moment) is not None and (day or moment).year not in _YEARS:
        raise ValidationError({name: _("Use a year between 1900 and 2199.")})
    if day is not None:
        return day.isoformat(), datetime.combine(day, time.min, tzinfo=tz)
    if moment is None:
        raise ValidationError({name: _("Use a date (2026-11-01) or an ISO date-time (2026-11-01T09:00:00+01:00).")})
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat(), moment


def period_bounds(params: dict[str, Any], tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[from, to) as aware instants, dates read in the organisation's time zone."""
    return _parse_moment(params["from"], name="from", tz=tz)[1], _parse_moment(params["to"], name="to", tz=tz)[1]


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def params_clean(kind: "ReportKind", raw: dict[str, Any], *, member: Member, time_zone: str) -> dict[str, Any]:
    """Validate `raw` for `kind` as `member` would run it. Returns the canonical
    parameters (JSON; project, member and label resolved to ids that exist here).

    Raises ValidationError naming the field, or PermissionDenied for a project where
    the member may not request reports."""
    tz = ZoneInfo(time_zone)
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(raw) - set(kind.params))
    for name in unknown:
        errors[name] = [_("Not a parameter of the %(kind)s report.") % {"kind": kind.code}]
    for name in kind.required:
        if raw.get(name) in (None, ""):
            errors[name] = [_("This parameter is required for the %(kind)s report.") % {"kind": kind.code}]
    if errors:
        raise ValidationError(errors)

    clean: dict[str, Any] = {"time_zone": time_zone}
    if "from" in kind.params:
        clean["from"], start = _parse_moment(raw["from"], name="from", tz=tz)
        clean["to"], end = _parse_moment(raw["to"], name="to", tz=tz)
        if start >= end:
            raise ValidationError({"to": _("The period must end after it starts (`to` is exclusive).")})
        years = settings.TESSERA_REPORT_MAX_YEARS
        if end > _years_later(start, years):
            raise ValidationError({"to": _("The period may be at most %(years)d years long.") % {"years": years}})

    project = None
    if raw.get("project") not in (None, ""):
        key = str(raw["project"]).strip().upper()
        project = projects_visible_to(member).filter(key=key).first()
        if project is None:
            raise ValidationError({"project": _("No such project.")})
        if not projects_where_member_may(member, "report.create").filter(pk=project.pk).exists():
            raise PermissionDenied(_("Your role in %(key)s does not allow reports.") % {"key": project.key})
        clean["project"] = project.key
        clean["project_id"] = project.pk

    if raw.get("assignee") not in (None, ""):
        value = str(raw["assignee"]).strip()
        if value == "me":
            clean["assignee_id"] = member.pk
        elif _ID.fullmatch(value) and Member.objects.filter(pk=int(value)).exists():
            clean["assignee_id"] = int(value)
        else:
            raise ValidationError({"assignee": _("No such member (use a member id or “me”).")})

    if raw.get("label") not in (None, ""):
        value = str(raw["label"]).strip()
        labels = Label.objects.filter(project__in=projects_visible_to(member))
        if project is not None:
            labels = labels.filter(project=project)
        label = labels.filter(pk=int(value)).first() if _ID.fullmatch(value) else None
        if label is None:
            where = _(" in %(key)s") % {"key": project.key} if project else ""
            raise ValidationError({"label": _("No such label%(where)s.") % {"where": where}})
        clean["label_id"] = label.pk

    if "filters" in kind.params:
        clean["filters"] = list_filters_clean(raw.get("filters") or "", member=member, project=project)
    return clean


# Parameters of the list page that are not filters: its page number, and the saved view
# it shows (the page's query string already holds the view's filters).
_LIST_NOT_FILTERS = ("page", "view")


def list_filters_clean(text: Any, *, member: Member, project: Project | None = None) -> str:
    """The task list's filters (its query string: `status=todo&assignee=me&search=login`)
    validated as the list and the API validate them (TaskFilter; with a project, its
    custom fields' `field_<id>` filters and ordering too), `me` resolved to the member's
    id so the worker needs no request. Returns the canonical query string."""
    from django.http import QueryDict

    if not isinstance(text, str) or len(text) > 2000:
        raise ValidationError({"filters": _("Give the list's filters as a query string (at most 2000 characters).")})
    given = QueryDict(text.lstrip("?"))
    params = QueryDict(mutable=True)
    for name in sorted(given):
        values = [value for value in given.getlist(name) if value != ""]
        if name in _LIST_NOT_FILTERS or not values:
            continue
        if name not in TaskFilter.base_filters and not is_field_param(name):
            raise ValidationError({"filters": _("Unknown filter “%(name)s”.") % {"name": name[:40]}})
        if name == "assignee" or is_field_param(name):  # a person field takes "me" too
            values = [str(member.pk) if value == "me" else value for value in values]
        params.setlist(name, values)
    builtin, custom = field_params_split(params)
    if custom and project is None:
        raise ValidationError({"filters": _("Filters on custom fields need a project.")})
    filterset = TaskFilter(builtin, queryset=Task.objects.none())
    if not filterset.is_valid():
        messages = [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]
        raise ValidationError({"filters": messages})
    try:
        filterset.qs  # noqa: B018 (ordering rules, e.g. relevance only with search, raise here)
    except ValidationError as exc:
        raise ValidationError({"filters": exc.messages}) from exc
    if custom:
        parsed = field_filters_parse(custom, fields=project_fields(project.pk), member_id=member.pk)
        if parsed.errors:
            messages = [f"{name}: {' '.join(errors)}" for name, errors in parsed.errors.items()]
            raise ValidationError({"filters": messages})
    return params.urlencode()


# --- Shared query pieces ----------------------------------------------------------------


def _person(prefix: str = "") -> Coalesce:
    """A member's display name, or their email when they have none."""
    return Coalesce(NullIf(F(f"{prefix}display_name"), Value("")), F(f"{prefix}email"), output_field=CharField())


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(f) WITHIN GROUP (ORDER BY expr)` (linear
    interpolation between the nearest values)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


def _days(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 86400, 2)


def _project_filter(tasks: QuerySet[Task], scope: Scope) -> QuerySet[Task]:
    tasks = tasks.filter(project__in=scope.projects.values("pk"))
    if scope.params.get("project_id"):
        tasks = tasks.filter(project_id=scope.params["project_id"])
    return tasks


# --- Task rows: what completed_tasks and task_list list ---------------------------------


def _joined(subquery: ArraySubquery) -> Func:
    return Func(subquery, Value(", "), function="array_to_string", output_field=CharField())


def _names_case(field_name: str, names: dict[str, Any]) -> Case:
    """The value's name in the active language, mapped in SQL (a CASE over the choices)."""
    return Case(
        *[When(**{field_name: value}, then=Value(str(label))) for value, label in names.items()],
        default=Cast(F(field_name), CharField()),
        output_field=CharField(),
    )


# The built-in columns' headers (translated when a report is built: the requester's language).
_HEADERS = {
    "task": pgettext_lazy("report column", "Task"),
    "title": pgettext_lazy("report column", "Title"),
    "project": pgettext_lazy("report column", "Project"),
    "status": pgettext_lazy("report column", "Status"),
    "priority": pgettext_lazy("report column", "Priority"),
    "assignees": pgettext_lazy("report column", "Assignees"),
    "labels": pgettext_lazy("report column", "Labels"),
    "due_date": pgettext_lazy("report column", "Due date"),
    "created": pgettext_lazy("report column", "Created"),
    "updated": pgettext_lazy("report column", "Updated"),
    "completed": pgettext_lazy("report column", "Completed"),
    "cycle_time_days": pgettext_lazy("report column", "Cycle time (days)"),
    "assignee": pgettext_lazy("report column", "Assignee"),
    "email": pgettext_lazy("report column", "Email"),
    "tasks": pgettext_lazy("report column", "Tasks"),
    "name": pgettext_lazy("report column", "Name"),
}
_TASK_TYPES = {"due_date": "date", "created": "datetime", "updated": "datetime", "completed": "datetime"}


def _column(key: str, kind: str = "text") -> Column:
    """A column with its header in the active language."""
    return Column(key, str(_HEADERS[key]), _TASK_TYPES.get(key, kind))


def _task_column(key: str) -> tuple[Column, Expression]:
    """A built-in column of the task kinds: its header (in the active language) and its
    typed value in SQL."""
    values: dict[str, Callable[[], Expression]] = {
        "task": lambda: Concat(F("project__key"), Value("-"), Cast("number", CharField())),
        "title": lambda: F("title"),
        "project": lambda: F("project__key"),
        "status": lambda: _names_case("status", dict(TaskStatus.choices)),
        "priority": lambda: _names_case("priority", dict(TaskPriority.choices)),
        "assignees": lambda: _joined(
            ArraySubquery(
                Member.objects.filter(assigned_tasks=OuterRef("pk"))
                .annotate(person=_person())
                .order_by("person")
                .values("person")
            )
        ),
        "labels": lambda: _joined(
            ArraySubquery(Label.objects.filter(tasks=OuterRef("pk")).order_by("name").values("name"))
        ),
        "due_date": lambda: F("due_date"),
        "created": lambda: F("created_at"),
        "updated": lambda: F("updated_at"),
        "completed": lambda: F("completed_at"),
        "cycle_time_days": lambda: Func(
            F("completed_at"),
            F("created_at"),
            arg_joiner=" - ",
            template="ROUND((EXTRACT(EPOCH FROM (%(expressions)s)) / 86400)::numeric, 2)::float8",
            output_field=FloatField(),
        ),
    }
    return _column(key, "float" if key == "cycle_time_days" else "text"), values[key]()


def task_rows(tasks: QuerySet[Task], keys: tuple[str, ...], scope: Scope) -> SqlRows:
    """The one row producer of the task kinds: the built-in columns `keys`, then one
    column per custom field of the scope's projects (tenant_apps/fields/selectors.py),
    over `tasks` (filtered and ordered by the kind)."""
    columns, values = [], []
    for key in keys:
        column, value = _task_column(key)
        columns.append(column)
        values.append(value)
    projects = scope.projects
    if scope.params.get("project_id"):
        projects = projects.filter(pk=scope.params["project_id"])
    for custom in report_field_columns(projects):
        columns.append(Column(custom.key, custom.label, custom.type))
        values.append(custom.value())
    return SqlRows(tasks=tasks, columns=columns, values=values, tz=scope.tz)


def _task_report(title: str, rows: SqlRows, total: int, summary: Summary) -> ReportData:
    return ReportData(title, rows.columns, total, rows.python_rows(), summary, sql_rows=rows)


# --- Completed tasks in a period --------------------------------------------------------

COMPLETED_COLUMNS = (
    "task",
    "title",
    "project",
    "assignees",
    "labels",
    "priority",
    "created",
    "completed",
    "cycle_time_days",
)


def completed_tasks_queryset(scope: Scope) -> QuerySet[Task]:
    """Tasks of the scope whose completion falls in [from, to), with the optional
    assignee and label filters."""
    start, end = period_bounds(scope.params, scope.tz)
    tasks = _project_filter(Task.objects.filter(completed_at__gte=start, completed_at__lt=end), scope)
    if scope.params.get("assignee_id"):
        tasks = tasks.filter(assignees=scope.params["assignee_id"])
    if scope.params.get("label_id"):
        tasks = tasks.filter(labels=scope.params["label_id"])
    return tasks


def _completed_tasks(scope: Scope) -> ReportData:
    tasks = completed_tasks_queryset(scope)
    cycle = ExpressionWrapper(F("completed_at") - F("created_at"), output_field=DurationField())
    total = tasks.count()
    stats = tasks.aggregate(median=PercentileCont(cycle, 0.5), p90=PercentileCont(cycle, 0.9))
    by_project = (
        tasks.values_list("project__key", "project__name").annotate(n=Count("pk")).order_by("-n", "project__key")
    )
    through = Task.assignees.through
    by_assignee = list(
        through.objects.filter(task__in=tasks.values("pk"))
        .values_list("member_id")
        .annotate(name=_person("member__"), email=F("member__email"), n=Count("task_id"))
        .values_list("name", "email", "n")
        .order_by("-n", "name")
    )
    unassigned = tasks.filter(assignees=None).count()
    if unassigned:
        by_assignee.append((_("(unassigned)"), "", unassigned))
    summary = Summary(
        figures=[
            ("tasks", _("Completed tasks"), total),
            ("cycle_time_median_days", _("Median cycle time (days)"), _days(stats["median"])),
            ("cycle_time_p90_days", _("90th percentile cycle time (days)"), _days(stats["p90"])),
        ],
        tables=[
            Table(
                "by_assignee",
                _("Completed per assignee"),
                [_column("assignee"), _column("email"), _column("tasks", "int")],
                by_assignee,
            ),
            Table(
                "by_project",
                _("Completed per project"),
                [_column("project"), _column("name"), _column("tasks", "int")],
                list(by_project),
            ),
        ],
    )
    rows = task_rows(tasks.order_by("completed_at", "pk"), COMPLETED_COLUMNS, scope)
    return _task_report(_("Completed tasks"), rows, total, summary)


# --- Workload ---------------------------------------------------------------------------

WORKLOAD_COLUMNS = [
    Column("assignee", "Assignee"),
    Column("email", "Email"),
    Column("backlog", "Backlog", "int"),
    Column("todo", "To do", "int"),
    Column("in_progress", "In progress", "int"),
    Column("open", "Open", "int"),
    Column("overdue", "Overdue", "int"),
]


def _open_counts(prefix: str, today: date) -> dict[str, Count]:
    counts = {status: Count("pk", filter=Q(**{f"{prefix}status": status})) for status in OPEN_STATUSES}
    counts["open"] = Count("pk")
    counts["overdue"] = Count("pk", filter=Q(**{f"{prefix}due_date__lt": today}))
    return counts


def _workload(scope: Scope) -> ReportData:
    """Open tasks per assignee and status; overdue = due before today in the
    organisation's zone. A task with two assignees counts for each of them."""
    today = scope.now.astimezone(scope.tz).date()
    tasks = _project_filter(Task.objects.filter(status__in=OPEN_STATUSES), scope)
    assigned = Task.assignees.through.objects.filter(task__in=tasks.values("pk"))
    if scope.params.get("assignee_id"):
        assigned = assigned.filter(member_id=scope.params["assignee_id"])
    per_member = (
        assigned.values("member_id")
        .annotate(name=_person("member__"), email=F("member__email"), **_open_counts("task__", today))
        .order_by("-open", "name")
    )
    rows = [
        (item["name"], item["email"], *(item[status] for status in OPEN_STATUSES), item["open"], item["overdue"])
        for item in per_member
    ]
    if not scope.params.get("assignee_id"):
        unassigned = tasks.filter(assignees=None).aggregate(**_open_counts("", today))
        if unassigned["open"]:
            rows.append(
                (
                    _("(unassigned)"),
                    "",
                    *(unassigned[s] for s in OPEN_STATUSES),
                    unassigned["open"],
                    unassigned["overdue"],
                )
            )
    if scope.params.get("assignee_id"):
        tasks = tasks.filter(assignees=scope.params["assignee_id"])
    totals = tasks.aggregate(**_open_counts("", today))
    by_project = (
        tasks.values_list("project__key", "project__name")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
        .order_by("project__key")
    )
    summary = Summary(
        figures=[
            ("open", _("Open tasks"), totals["open"]),
            *[(status, str(TaskStatus(status).label), totals[status]) for status in OPEN_STATUSES],
            ("overdue", _("Overdue"), totals["overdue"]),
            ("as_of", _("As of"), today),
        ],
        tables=[
            Table(
                "by_project",
                _("Open per project"),
                [
                    Column("project", "Project"),
                    Column("name", "Name"),
                    Column("open", "Open", "int"),
                    Column("overdue", "Overdue", "int"),
                ],
                list(by_project),
            )
        ],
    )
    return ReportData(_("Workload"), WORKLOAD_COLUMNS, len(rows), iter(rows), summary)


# --- Project status ---------------------------------------------------------------------

PROJECT_STATUS_COLUMNS = [
    Column("project", "Project"),
    Column("name", "Name"),
    Column("week", "Week starting", "date"),
    Column("created", "Created", "int"),
    Column("completed", "Completed", "int"),
]
_PROJECT_BATCH = 50


def _weeks(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Mondays (in the organisation's zone) of every week that overlaps [start, end)."""
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _weekly(tasks: QuerySet[Task], field_name: str, start, end, tz, project_ids) -> dict[tuple[int, date], int]:
    rows = (
        tasks.filter(project_id__in=project_ids, **{f"{field_name}__gte": start, f"{field_name}__lt": end})
        .annotate(week=TruncWeek(field_name, tzinfo=tz))
        .values_list("project_id", "week")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(project_id, week.date() if isinstance(week, datetime) else week): n for project_id, week, n in rows}


def _project_status(scope: Scope) -> ReportData:
    """Per project: tasks by status now, and tasks created and completed in each week of
    the period (the first and last week count only the days inside the period)."""
    start, end = period_bounds(scope.params, scope.tz)
    projects = scope.projects
    if scope.params.get("project_id"):
        projects = projects.filter(pk=scope.params["project_id"])
    projects = projects.order_by("key")
    tasks = Task.objects.filter(project__in=projects.values("pk"))
    statuses = [status for status, _label in TaskStatus.choices]
    per_project = (
        projects.annotate(
            **{status: Count("tasks", filter=Q(tasks__status=status)) for status in statuses},
            total=Count("tasks"),
            created_in_period=Count("tasks", filter=Q(tasks__created_at__gte=start, tasks__created_at__lt=end)),
            completed_in_period=Count("tasks", filter=Q(tasks__completed_at__gte=start, tasks__completed_at__lt=end)),
        )
        .values_list("key", "name", *statuses, "total", "created_in_period", "completed_in_period")
        .order_by("key")
    )
    status_table = list(per_project)
    weeks = _weeks(start, end, scope.tz)
    summary = Summary(
        figures=[
            ("projects", _("Projects"), len(status_table)),
            ("created", _("Created in the period"), sum(row[-2] for row in status_table)),
            ("completed", _("Completed in the period"), sum(row[-1] for row in status_table)),
        ],
        tables=[
            Table(
                "by_project",
                _("Projects by status"),
                [
                    Column("project", "Project"),
                    Column("name", "Name"),
                    *[Column(status, str(label), "int") for status, label in TaskStatus.choices],
                    Column("total", "Total", "int"),
                    Column("created", "Created in period", "int"),
                    Column("completed", "Completed in period", "int"),
                ],
                status_table,
            )
        ],
    )

    def rows() -> Iterator[tuple]:
        # A batch of projects at a time: the weekly counts held in memory stay bounded
        # however many projects and weeks there are.
        batch: list[tuple[int, str, str]] = []
        for project in projects.values_list("pk", "key", "name").iterator(chunk_size=_PROJECT_BATCH):
            batch.append(project)
            if len(batch) == _PROJECT_BATCH:
                yield from _batch_rows(batch)
                batch = []
        if batch:
            yield from _batch_rows(batch)

    def _batch_rows(batch: list[tuple[int, str, str]]) -> Iterator[tuple]:
        ids = [pk for pk, _key, _name in batch]
        created = _weekly(tasks, "created_at", start, end, scope.tz, ids)
        completed = _weekly(tasks, "completed_at", start, end, scope.tz, ids)
        for pk, key, name in batch:
            for week in weeks:
                yield (key, name, week, created.get((pk, week), 0), completed.get((pk, week), 0))

    return ReportData(_("Project status"), PROJECT_STATUS_COLUMNS, len(status_table) * len(weeks), rows(), summary)


# --- Time logged per person and project ------------------------------------------------

TIME_LOGGED_COLUMNS = [
    Column("person", "Person"),
    Column("email", "Email"),
    Column("project", "Project"),
    Column("name", "Project name"),
    Column("entries", "Entries", "int"),
    Column("minutes", "Minutes", "int"),
    Column("hours", "Hours", "float"),
]


def _hours(minutes: int | None) -> float:
    return round((minutes or 0) / 60, 2)


def _time_logged(scope: Scope) -> ReportData:
    """Time entries whose day falls in [from, to) (days in the organisation's zone; a
    date-time bound counts from its day), summed per person and project. `assignee`
    narrows to one person (whose time it is)."""
    from django.db.models import Sum

    start, end = period_bounds(scope.params, scope.tz)
    first_day = start.astimezone(scope.tz).date()
    last_day = (end - timedelta(microseconds=1)).astimezone(scope.tz).date()
    entries = TimeEntry.objects.filter(
        date__gte=first_day, date__lte=last_day, task__project__in=scope.projects.values("pk")
    )
    if scope.params.get("project_id"):
        entries = entries.filter(task__project_id=scope.params["project_id"])
    if scope.params.get("assignee_id"):
        entries = entries.filter(member_id=scope.params["assignee_id"])
    per_row = list(
        entries.values("member_id", "task__project_id")
        .annotate(
            person=_person("member__"),
            email=F("member__email"),
            key=F("task__project__key"),
            name=F("task__project__name"),
            entries=Count("pk"),
            minutes=Sum("minutes"),
        )
        .order_by("person", "email", "key")
        .values_list("person", "email", "key", "name", "entries", "minutes")
    )
    rows = [(*row, _hours(row[5])) for row in per_row]
    totals = entries.aggregate(minutes=Sum("minutes"), entries=Count("pk"))
    by_person = (
        entries.values("member_id")
        .annotate(person=_person("member__"), email=F("member__email"), minutes=Sum("minutes"))
        .order_by("-minutes", "person")
        .values_list("person", "email", "minutes")
    )
    by_project = (
        entries.values("task__project_id")
        .annotate(key=F("task__project__key"), name=F("task__project__name"), minutes=Sum("minutes"))
        .order_by("-minutes", "key")
        .values_list("key", "name", "minutes")
    )
    summary = Summary(
        figures=[
            ("hours", _("Hours logged"), _hours(totals["minutes"])),
            ("entries", _("Time entries"), totals["entries"]),
        ],
        tables=[
            Table(
                "by_person",
                _("Hours per person"),
                [Column("person", "Person"), Column("email", "Email"), Column("hours", "Hours", "float")],
                [(person, email, _hours(minutes)) for person, email, minutes in by_person],
            ),
            Table(
                "by_project",
                _("Hours per project"),
                [Column("project", "Project"), Column("name", "Name"), Column("hours", "Hours", "float")],
                [(key, name, _hours(minutes)) for key, name, minutes in by_project],
            ),
        ],
    )
    return ReportData(_("Time logged"), TIME_LOGGED_COLUMNS, len(rows), iter(rows), summary)


# --- The task list, its filters applied -------------------------------------------------

TASK_LIST_COLUMNS = (
    "task",
    "title",
    "project",
    "status",
    "priority",
    "assignees",
    "labels",
    "due_date",
    "created",
    "updated",
    "completed",
)


def task_list_queryset(scope: Scope) -> QuerySet[Task]:
    """The tasks the list shows with these filters (custom-field ones included), in its
    order, within the scope. Raises ValidationError when a custom field a filter names
    was deleted since the request."""
    from django.http import QueryDict

    tasks = _project_filter(Task.objects.all(), scope)
    builtin, custom = field_params_split(QueryDict(scope.params.get("filters", "")))
    tasks = TaskFilter(builtin, queryset=tasks).qs
    if custom and scope.params.get("project_id"):
        parsed = field_filters_parse(custom, fields=project_fields(scope.params["project_id"]), member_id=None)
        if parsed.errors:
            raise ValidationError(_("A custom field this export filters on was deleted."))
        tasks = parsed.apply(tasks)
    return tasks


def _task_list(scope: Scope) -> ReportData:
    tasks = task_list_queryset(scope)
    total = tasks.count()
    by_status = dict(tasks.order_by().values_list("status").annotate(n=Count("pk")))
    summary = Summary(
        figures=[("tasks", _("Tasks"), total), ("filters", _("Filters"), scope.params.get("filters", ""))],
        tables=[
            Table(
                "by_status",
                _("Tasks per status"),
                [_column("status"), _column("tasks", "int")],
                [(str(label), by_status.get(value, 0)) for value, label in TaskStatus.choices],
            )
        ],
    )
    return _task_report(_("Task list"), task_rows(tasks, TASK_LIST_COLUMNS, scope), total, summary)


KINDS: dict[str, ReportKind] = {
    kind.code: kind
    for kind in (
        ReportKind(
            code="completed_tasks",
            title=gettext_lazy("Completed tasks"),
            description=(
                "Tasks completed in [from, to): number, title, project, assignees, labels, priority, created, "
                "completed, cycle time, a column per custom field; summary per assignee and project, median and 90th "
                "percentile cycle time."
            ),
            params=("from", "to", "project", "assignee", "label"),
            required=("from", "to"),
            build=_completed_tasks,
        ),
        ReportKind(
            code="workload",
            title=gettext_lazy("Workload"),
            description="Open tasks per assignee and status, with overdue counts; summary per project.",
            params=("project", "assignee"),
            required=(),
            build=_workload,
        ),
        ReportKind(
            code="project_status",
            title=gettext_lazy("Project status"),
            description="Per project: tasks by status now, and tasks created and completed per week in [from, to).",
            params=("from", "to", "project"),
            required=("from", "to"),
            build=_project_status,
        ),
        ReportKind(
            code="time_logged",
            title=gettext_lazy("Time logged"),
            description=(
                "Time logged per person and project on days in [from, to): entries, minutes, hours; "
                "summary per person and per project. `assignee` narrows to one person's time."
            ),
            params=("from", "to", "project", "assignee"),
            required=("from", "to"),
            build=_time_logged,
        ),
        ReportKind(
            code="task_list",
            title=gettext_lazy("Task list"),
            description=(
                "The task list as the list page shows it: `filters` is its query string (status, priority, "
                "assignee, label, search, the date ranges, ordering), `project` a project key; every matching "
                "task with status, priority, assignees, labels, due date, created, updated, completed and a column per "
                "custom field; with `project`, the custom-field filters `field_<id>` too."
            ),
            params=("project", "filters"),
            required=(),
            build=_task_list,
        ),
    )
}
