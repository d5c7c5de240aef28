"""Tasks: the lists (a project's, everyone's), detail, activity, move."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, OrderBy, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.api import UNKNOWN_PARAMETER, unknown_refuse
from shared_apps.core.markup import markdown_html
from shared_apps.core.pagination import LAST_PAGE, PageRequest, page_response, paginated, paginated_response
from shared_apps.tenants.permissions import IsOrganizationMember
from tenant_apps.fields.filters import field_filters_parse, field_params_split, project_fields
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, WorkflowState
from tenant_apps.projects.permissions import ProjectScopedApi, member_for_request, permission_require, user_can
from tenant_apps.projects.selectors import projects_visible_to, sees_every_project
from tenant_apps.tasks.filters import TaskFilter
from tenant_apps.tasks.models import Activity, Label, Task, TaskNumberRedirect
from tenant_apps.tasks.permissions import access_task, task_reference_resolve
from tenant_apps.tasks.selectors import TASK_COUNT_CAP, task_count_upto, task_detail, task_page, task_search_window
from tenant_apps.tasks.serializers import (
    ActivityOutputSerializer,
    TaskMoveInputSerializer,
    TaskOutputSerializer,
    TaskPageOutputSerializer,
    TaskWriteInputSerializer,
)
from tenant_apps.tasks.services import StaleVersion, task_create, task_delete, task_move, task_update

_TASK_EXAMPLE = {
    "key": "WEB-42",
    "number": 42,
    "project": "WEB",
    "title": "Fix the login form",
    "description": "It rejects emails with a **plus** sign.",
    "description_html": "<p>It rejects emails with a <strong>plus</strong> sign.</p>",
    "status": "in_progress",
    "state": {"id": 12, "name": "In review", "colour": "#8250df"},
    "priority": "high",
    "reporter": {"id": 1, "display_name": "Ada", "email": "ada@acme.example"},
    "assignees": [{"id": 3, "display_name": "Mia", "email": "mia@acme.example"}],
    "labels": [{"id": 2, "name": "bug", "color": "#d1242f"}],
    "blocked_by": ["OPS-7"],
    "due_date": "2026-12-01",
    "created_at": "2026-11-26T09:00:00Z",
    "updated_at": "2026-11-26T10:00:00Z",
    "completed_at": None,
    "version": 3,
    "rank": "i",
    "parent": "WEB-40",
    "subtasks": {"closed": 1, "total": 3},
    "estimate": 3.0,
    "estimate_unit": "points",
    "time_spent_minutes": 90,
    "time_total_minutes": 210,
}

FILTER_PARAMETERS = [
    OpenApiParameter("search", str, description="Words (English/Russian forms), prefixes, title typos, or WEB-42."),
    OpenApiParameter(
        "status", str, many=True, description="Category of the state: backlog, todo, in_progress, done, cancelled."
    ),
    OpenApiParameter("category", str, many=True, description="The same as `status` (either name works)."),
    OpenApiParameter("state", int, many=True, description="Workflow state id; repeat for any of several."),
    OpenApiParameter("priority", str, many=True, description="none, low, medium, high, urgent."),
    OpenApiParameter("assignee", str, many=True, description="Member id, `me` or `none`; repeat for any of several."),
    OpenApiParameter("label", int, many=True, description="Label id; repeat for any of several."),
    OpenApiParameter("parent", str, description="Sub-tasks of this task (WEB-7), or `none`: top-level tasks."),
    OpenApiParameter("created_after", str),
    OpenApiParameter("created_before", str),
    OpenApiParameter("updated_after", str),
    OpenApiParameter("updated_before", str),
    OpenApiParameter("completed_after", str),
    OpenApiParameter("completed_before", str),
    OpenApiParameter("due_after", str),
    OpenApiParameter("due_before", str),
    OpenApiParameter("ordering", str, description="number, created, updated, due, priority, relevance; `-` reverses."),
    OpenApiParameter("page", str, description="Page number (from 1), or `last` (which counts every task)."),
    OpenApiParameter("page_size", int, description="Tasks per page, 1 to 200 (default 50)."),
]
_LIST_EXAMPLE_ITEM = {name: value for name, value in _TASK_EXAMPLE.items() if name != "description_html"}


def _filtered(request, queryset: QuerySet[Task], project: Project | None = None) -> tuple[QuerySet[Task], bool]:
    """Apply the request's filters, search and ordering; also say whether it searches.
    In one project's list, its custom fields filter and order too (`field_<id>`,
    tenant_apps/fields/filters.py)."""
    known = set(TaskFilter.base_filters) | {"page", "page_size"}
    params, field_params = field_params_split(request.query_params) if project else (request.query_params, None)
    unknown_refuse(params, known, message=UNKNOWN_PARAMETER)
    request.tessera_member = member_for_request(request)
    filterset = TaskFilter(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    try:
        tasks = filterset.qs
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    if field_params:
        member = request.tessera_member
        custom = field_filters_parse(
            field_params, fields=project_fields(project.pk), member_id=member.pk if member else None
        )
        if custom.errors:
            raise ValidationError(custom.errors)
        tasks = custom.apply(tasks)
    return tasks, bool(filterset.form.cleaned_data.get("search"))


# A search counts its matches up to here (or the end of the requested page), and ranks
# every match by relevance only up to here: each match counted or ranked is a visit to
# its row (~3 µs, and the rank as much again), 12,759 of them for a common word at a
# million tasks. Beyond it, the pages of a search ordered by relevance come in the list's
# default order (most recently updated first, which an index serves) and each page is
# ranked within itself: `relevance_scope` says which (docs/api.md, "Search").
SEARCH_RANK_LIMIT = 1_000
# The order of a broad search's pages: the list's default order (its index).
_BROAD_SEARCH_ORDER = (F("updated_at").desc(), F("pk").desc())


def _ranked(tasks: QuerySet[Task]) -> bool:
    """Whether `tasks` is ordered by relevance first (a search's default order)."""
    order = tasks.query.order_by
    first = order[0] if order else None
    return isinstance(first, OrderBy) and isinstance(first.expression, F) and first.expression.name == "relevance"


def _task_list_response(request, tasks: QuerySet[Task], *, searching: bool) -> Response:
    """One page of filtered, ordered tasks, in a number of statements that does not
    depend on the page size: a COUNT that stops after the cap (TASK_COUNT_CAP, or
    SEARCH_RANK_LIMIT for a search; `count_capped` then says the list goes on), and the
    page, which an index can serve in order, stopping at its LIMIT. A search ordered by
    relevance ranks every match when there are at most SEARCH_RANK_LIMIT; beyond, its
    pages follow the default order and each is ranked within itself
    (`relevance_scope`: "all", "page", or null when not ordered by relevance)."""
    page = PageRequest.from_request(request)
    cap = SEARCH_RANK_LIMIT if searching else TASK_COUNT_CAP
    ranked = searching and _ranked(tasks)
    ids = None
    if page.number == LAST_PAGE:
        count, capped = tasks.count(), False  # the last page needs the exact total
        page = page.resolved(count)
        broad = count > cap
    else:
        limit = max(cap, page.offset + page.size)
        if ranked:  # count and rank in one pass; the page's ids too, if that was every match
            descending = tasks.query.order_by[0].descending
            counted, ids = task_search_window(
                tasks, limit=limit + 1, offset=page.offset, size=page.size, descending=descending
            )
        else:
            counted = task_count_upto(tasks, limit + 1, searching=searching)
        count, capped = min(counted, limit), counted > limit
        broad = counted > cap
    scope = ("page" if broad else "all") if ranked else None
    results = []
    if page.offset < count:
        if ids is not None and not broad:
            results, _total = task_page(tasks.filter(pk__in=ids), offset=0, limit=page.size)
        else:
            window = _BROAD_SEARCH_ORDER if ranked and broad else None
            results, _total = task_page(tasks, offset=page.offset, limit=page.size, window_order=window)
    return page_response(
        request=request,
        page=page,
        count=count,
        results=results,
        more=capped,
        count_capped=capped,
        relevance_scope=scope,
    )


def _etag(task: Task) -> str:
    return f'"{task.pk}.{task.version}"'


def _detail_response(found: tuple[int, dict], *, status_code: int = status.HTTP_200_OK) -> Response:
    """A task_detail() result as the detail endpoint shows it: with the rendered
    description and its ETag."""
    task_id, data = found
    data["description_html"] = markdown_html(data["description"])
    response = Response(data, status=status_code)
    response["ETag"] = f'"{task_id}.{data["version"]}"'
    return response


def _task_response(task: Task, *, status_code: int = status.HTTP_200_OK) -> Response:
    """`task` read afresh (one statement) and shown as the detail endpoint shows it."""
    found = task_detail(Task.objects.all(), pk=task.pk)
    if found is None:  # deleted meanwhile
        raise NotFound()
    return _detail_response(found, status_code=status_code)


def _resolve_relations(project, data: dict, *, member: Member | None = None) -> dict:
    """assignee_ids / label_ids / parent -> objects, 400 for ids that do not exist here
    (a parent in a project `member` cannot see does not exist, for them)."""
    data = dict(data)
    data.pop("version", None)
    data.pop("force", None)
    if data.get("parent") is not None:
        data["parent"] = task_reference_resolve(member=member, reference=data["parent"], field="parent")
    if "state" in data:
        state = WorkflowState.objects.filter(pk=data["state"], project=project).first()
        if state is None:
            raise ValidationError({"state": [_("No such state in %(key)s.") % {"key": project.key}]})
        data["state"] = state
    if "assignee_ids" in data:
        ids = set(data.pop("assignee_ids"))
        members = list(Member.objects.filter(pk__in=ids))
        missing = sorted(ids - {member.pk for member in members})
        if missing:
            raise ValidationError({"assignee_ids": [f"No such member: {', '.join(map(str, missing))}."]})
        data["assignees"] = members
    if "label_ids" in data:
        ids = set(data.pop("label_ids"))
        labels = list(Label.objects.filter(pk__in=ids, project=project))
        missing = sorted(ids - {label.pk for label in labels})
        if missing:
            raise ValidationError({"label_ids": [f"No such label in {project.key}: {', '.join(map(str, missing))}."]})
        data["labels"] = labels
    return data


class TaskListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "task.create"}

    @extend_schema(
        operation_id="project_tasks_list",
        parameters=FILTER_PARAMETERS,
        responses=TaskPageOutputSerializer,
        examples=[
            OpenApiExample(
                "Tasks",
                value={
                    "count": 1,
                    "count_capped": False,
                    "relevance_scope": None,
                    "next": None,
                    "previous": None,
                    "results": [_LIST_EXAMPLE_ITEM],
                },
            )
        ],
    )
    def get(self, request, key: str):
        """The project's tasks: filter, search, order, paginate. Items are the task
        detail without `description_html` (open a task for its rendered description).

        Custom fields (`/api/v1/projects/{key}/fields/`) filter too: `field_<id>=<value>`
        (equality; repeat for any of several: option ids, member ids or `me`, `true`/`false`,
        exact text, a number or a date), `field_<id>_min` / `field_<id>_max` (inclusive
        range, number and date fields), and `ordering=field_<id>` (or `-field_<id>`;
        tasks without a value last)."""
        tasks, searching = _filtered(request, Task.objects.filter(project=self.project), self.project)
        return _task_list_response(request, tasks, searching=searching)

    @extend_schema(
        request=TaskWriteInputSerializer,
        responses={201: TaskOutputSerializer},
        examples=[
            OpenApiExample(
                "New task",
                request_only=True,
                value={
                    "title": "Fix the login form",
                    "priority": "high",
                    "assignee_ids": [3],
                    "due_date": "2026-12-01",
                },
            )
        ],
    )
    def post(self, request, key: str):
        """Create a task; it gets the project's next number (KEY-n)."""
        serializer = TaskWriteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _resolve_relations(self.project, serializer.validated_data, member=self.member)
        task = task_create(project=self.project, actor=self.member, **data)
        return _task_response(task, status_code=201)


class TaskDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "PATCH": "project.view", "DELETE": "task.delete"}

    @extend_schema(
        responses={200: TaskOutputSerializer, 301: OpenApiResponse(description="Moved: Location has its new URL.")},
        examples=[OpenApiExample("Task", value=_TASK_EXAMPLE)],
    )
    def get(self, request, key: str, number: int):
        """One task. Its ETag header (or `version`) makes a later update safe. A task
        moved to another project answers 301 with its new address."""
        found = task_detail(Task.objects.filter(project=self.project), number=number)
        if found is None:
            redirect = (
                TaskNumberRedirect.objects.select_related("task__project")
                .filter(project=self.project, number=number)
                .first()
            )
            if redirect is not None and user_can(request, "project.view", redirect.task.project):
                moved = redirect.task
                response = Response(status=status.HTTP_301_MOVED_PERMANENTLY)
                response["Location"] = f"/api/v1/projects/{moved.project.key}/tasks/{moved.number}/"
                return response
            raise NotFound()
        return _detail_response(found)

    @extend_schema(
        request=TaskWriteInputSerializer(partial=True),
        parameters=[OpenApiParameter("If-Match", str, location=OpenApiParameter.HEADER, required=False)],
        responses={
            200: TaskOutputSerializer,
            409: OpenApiResponse(
                description="Closing it while sub-tasks are open (code `open_children`, with their keys): "
                "send `force: true` to confirm. Nothing was changed."
            ),
            412: OpenApiResponse(description="The task changed since you read it; nothing was changed."),
        },
        examples=[OpenApiExample("Start work", request_only=True, value={"status": "in_progress", "version": 3})],
    )
    def patch(self, request, key: str, number: int):
        """Change some fields. Status needs task.change_status, assignees task.assign,
        anything else task.edit (the service decides, from TASK_FIELD_PERMISSIONS). Send
        `If-Match: <ETag>` or `version`: a stale update gets 412 and changes nothing."""
        task = access_task(member=self.member, project=self.project, number=number)
        serializer = TaskWriteInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        expected = data.get("version")
        if request.headers.get("If-Match"):
            # A failed If-Match asks the service for a version no task has: it still
            # checks permissions first (403 before 412), then refuses as stale.
            expected = (task.version if expected is None else expected) if _if_match_ok(request, task) else -1
        try:
            updated = task_update(
                task=task,
                actor=self.member,
                data=_resolve_relations(self.project, data, member=self.member),
                expected_version=expected,
                force_close=data.get("force", False),
            )
        except StaleVersion:
            return _precondition_failed(Task.objects.get(pk=task.pk))
        except Task.DoesNotExist as exc:  # deleted while this request ran
            raise NotFound() from exc
        return _task_response(updated)

    @extend_schema(
        parameters=[OpenApiParameter("If-Match", str, location=OpenApiParameter.HEADER, required=False)],
        responses={
            204: OpenApiResponse(description="Deleted with its comments and attachments."),
            412: OpenApiResponse(description="The task changed since you read it; nothing was deleted."),
        },
    )
    def delete(self, request, key: str, number: int):
        task = access_task(member=self.member, project=self.project, number=number)
        if not _if_match_ok(request, task):
            return _precondition_failed(task)
        task_delete(task=task, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _if_match_ok(request, task: Task) -> bool:
    """RFC 9110 If-Match: absent or `*` passes; otherwise one of the listed ETags must be
    the task's current one."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        return True
    return _etag(task) in {tag.strip() for tag in header.split(",")}


def _precondition_failed(task: Task) -> Response:
    response = Response(
        {"detail": _("The task changed since you read it. Reload it and try again."), "version": task.version},
        status=status.HTTP_412_PRECONDITION_FAILED,
    )
    response["ETag"] = _etag(task)
    return response


class TaskActivityApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view"}

    @extend_schema(responses=paginated(ActivityOutputSerializer))
    def get(self, request, key: str, number: int):
        """Every recorded change to the task, newest first."""
        task = access_task(member=self.member, project=self.project, number=number)
        activity = Activity.objects.filter(task=task).select_related("actor").order_by("-created_at", "-pk")
        return paginated_response(view=self, request=request, items=activity, serializer_class=ActivityOutputSerializer)


class TaskChildrenApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view"}

    @extend_schema(operation_id="task_children_list", responses=TaskPageOutputSerializer)
    def get(self, request, key: str, number: int):
        """The task's direct sub-tasks that you can see (any project), by project and
        number; each item has its own `subtasks` progress for the next level."""
        task = access_task(member=self.member, project=self.project, number=number)
        unknown_refuse(request.query_params, {"page", "page_size"}, message=UNKNOWN_PARAMETER)
        member = self.member
        children = Task.objects.filter(parent=task)
        if not sees_every_project(member):
            children = children.filter(project__in=projects_visible_to(member))
        return _task_list_response(request, children.order_by("project__key", "number"), searching=False)


class AllTasksApi(APIView):
    """Tasks across every project you can see (`?project=KEY` narrows it)."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(operation_id="tasks_list", parameters=FILTER_PARAMETERS, responses=TaskPageOutputSerializer)
    def get(self, request):
        """Tasks of every project you can see: the same filters, search and items as a
        project's task list."""
        member = member_for_request(request)
        tasks = (
            Task.objects.all()
            if sees_every_project(member)
            else Task.objects.filter(project__in=projects_visible_to(member))
        )
        tasks, searching = _filtered(request, tasks)
        return _task_list_response(request, tasks, searching=searching)


class TaskMoveApi(ProjectScopedApi):
    required_permissions = {"POST": "task.delete"}

    @extend_schema(
        request=TaskMoveInputSerializer,
        responses={200: TaskOutputSerializer},
        examples=[OpenApiExample("Move to OPS", request_only=True, value={"project": "OPS"})],
    )
    def post(self, request, key: str, number: int):
        """Move the task to another project (task.delete here, task.create there). It is
        renumbered there; its old number redirects."""
        task = access_task(member=self.member, project=self.project, number=number)
        if not _if_match_ok(request, task):
            return _precondition_failed(task)
        serializer = TaskMoveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = Project.objects.filter(key=serializer.validated_data["project"]).first()
        if target is None or not user_can(request, "project.view", target):
            raise ValidationError({"project": [_("No such project.")]})
        permission_require(member=self.member, project=target, codes="task.create")
        moved = task_move(task=task, target=target, actor=self.member)
        return _task_response(moved)
