from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.api import UNKNOWN_PARAMETER, unknown_refuse
from shared_apps.core.markup import markdown_html, markdown_html_many
from shared_apps.core.pagination import (
    LAST_PAGE,
    PageRequest,
    TesseraPagination,
    page_response,
    paginated,
    paginated_response,
)
from shared_apps.tenants.permissions import IsOrganizationMember, require_org_manager
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import (
    ProjectScopedApi,
    member_for_request,
    permission_require,
    project_permissions,
    user_can,
)
from tenant_apps.projects.selectors import projects_visible_to, sees_every_project
from tenant_apps.tasks.attachments import SizeLimitUploadHandler, storage
from tenant_apps.tasks.filters import TaskFilter
from tenant_apps.tasks.models import Activity, Attachment, Comment, Label, Task, TaskNumberRedirect
from tenant_apps.tasks.permissions import access_attachment, access_comment, access_label, access_task
from tenant_apps.tasks.selectors import organization_usage, task_detail, task_page
from tenant_apps.tasks.serializers import (
    ActivityOutputSerializer,
    AttachmentOutputSerializer,
    AttachmentUploadInputSerializer,
    CommentInputSerializer,
    CommentOutputSerializer,
    LabelInputSerializer,
    TaskLabelOutputSerializer,
    TaskMoveInputSerializer,
    TaskOutputSerializer,
    TaskPageOutputSerializer,
    TaskWriteInputSerializer,
    UsageOutputSerializer,
)
from tenant_apps.tasks.services import (
    StaleVersion,
    attachment_add,
    attachment_remove,
    comment_create,
    comment_delete,
    comment_update,
    label_delete,
    label_save,
    task_create,
    task_delete,
    task_move,
    task_update,
)

_TASK_EXAMPLE = {
    "key": "WEB-42",
    "number": 42,
    "project": "WEB",
    "title": "Fix the login form",
    "description": "It rejects emails with a **plus** sign.",
    "description_html": "<p>It rejects emails with a <strong>plus</strong> sign.</p>",
    "status": "in_progress",
    "priority": "high",
    "reporter": {"id": 1, "display_name": "Ada", "email": "ada@acme.example"},
    "assignees": [{"id": 3, "display_name": "Mia", "email": "mia@acme.example"}],
    "labels": [{"id": 2, "name": "bug", "color": "#d1242f"}],
    "due_date": "2026-12-01",
    "created_at": "2026-11-26T09:00:00Z",
    "updated_at": "2026-11-26T10:00:00Z",
    "completed_at": None,
    "version": 3,
}

FILTER_PARAMETERS = [
    OpenApiParameter("search", str, description="Words (English/Russian forms), prefixes, title typos, or WEB-42."),
    OpenApiParameter("status", str, many=True, description="todo, in_progress, in_review, done, cancelled."),
    OpenApiParameter("priority", str, many=True, description="none, low, medium, high, urgent."),
    OpenApiParameter("assignee", str, many=True, description="Member id, `me` or `none`; repeat for any of several."),
    OpenApiParameter("label", int, many=True, description="Label id; repeat for any of several."),
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


def _filtered(request, queryset: QuerySet[Task]) -> tuple[QuerySet[Task], bool]:
    """Apply the request's filters, search and ordering; also say whether it searches."""
    known = set(TaskFilter.base_filters) | {"page", "page_size"}
    unknown_refuse(request.query_params, known, message=UNKNOWN_PARAMETER)
    request.tessera_member = member_for_request(request)
    filterset = TaskFilter(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    try:
        return filterset.qs, bool(filterset.form.cleaned_data.get("search"))
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


# Without search, counting stops here (or at the end of the requested page, if further):
# an exact count of a million tasks costs more than the page itself.
TASK_COUNT_CAP = 10_000


def _task_list_response(request, tasks: QuerySet[Task], *, searching: bool) -> Response:
    """One page of filtered, ordered tasks, in a number of statements that does not
    depend on the page size.

    Searching: one statement. A ranked search visits every match anyway, so the exact
    total comes from the same pass. Otherwise: a COUNT that stops after TASK_COUNT_CAP
    matches (`count_capped` then says the list goes on), and the page, which an index
    can serve in order, stopping at its LIMIT."""
    page = PageRequest.from_request(request)
    if searching and page.number != LAST_PAGE:
        results, count = task_page(tasks, offset=page.offset, limit=page.size, counted=True)
        # An empty page: nothing matched (page 1), or a page past the end (a 404 below).
        return page_response(request=request, page=page, count=count or 0, results=results, count_capped=False)
    if page.number == LAST_PAGE:
        count, capped = tasks.count(), False  # the last page needs the exact total
        page = page.resolved(count)
    else:
        limit = max(TASK_COUNT_CAP, page.offset + page.size)
        counted = tasks.order_by()[: limit + 1].count()
        count, capped = min(counted, limit), counted > limit
    results = []
    if page.offset < count:
        results, _total = task_page(tasks, offset=page.offset, limit=page.size, counted=False)
    return page_response(request=request, page=page, count=count, results=results, more=capped, count_capped=capped)


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


def _resolve_relations(project, data: dict) -> dict:
    """assignee_ids / label_ids -> objects, 400 for ids that do not exist here."""
    data = dict(data)
    data.pop("version", None)
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
                    "next": None,
                    "previous": None,
                    "results": [_LIST_EXAMPLE_ITEM],
                },
            )
        ],
    )
    def get(self, request, key: str):
        """The project's tasks: filter, search, order, paginate. Items are the task
        detail without `description_html` (open a task for its rendered description)."""
        tasks, searching = _filtered(request, Task.objects.filter(project=self.project))
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
        data = _resolve_relations(self.project, serializer.validated_data)
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
                task=task, actor=self.member, data=_resolve_relations(self.project, data), expected_version=expected
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


class CommentListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "comment.create"}

    @extend_schema(operation_id="task_comments_list", responses=paginated(CommentOutputSerializer))
    def get(self, request, key: str, number: int):
        """The task's comments, oldest first."""
        task = access_task(member=self.member, project=self.project, number=number)
        comments = Comment.objects.filter(task=task).select_related("author").order_by("created_at", "pk")
        paginator = TesseraPagination()
        page = paginator.paginate_queryset(comments, request, view=self)
        rendered = dict(zip((c.pk for c in page), markdown_html_many([c.body for c in page]), strict=True))
        data = CommentOutputSerializer(page, many=True, context={"body_html": rendered}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=CommentInputSerializer,
        responses={201: CommentOutputSerializer},
        examples=[OpenApiExample("Comment", request_only=True, value={"body": "Reproduced on **Firefox** too."})],
    )
    def post(self, request, key: str, number: int):
        task = access_task(member=self.member, project=self.project, number=number)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = comment_create(task=task, actor=self.member, body=serializer.validated_data["body"])
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailApi(ProjectScopedApi):
    required_permissions = {"PATCH": "comment.create", "DELETE": "project.view"}

    @extend_schema(request=CommentInputSerializer, responses={200: CommentOutputSerializer})
    def patch(self, request, key: str, number: int, comment_id: int):
        """Edit your own comment (it is marked edited)."""
        comment = access_comment(member=self.member, project=self.project, number=number, comment_id=comment_id)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = comment_update(comment=comment, actor=self.member, body=serializer.validated_data["body"])
        return Response(CommentOutputSerializer(updated).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted.")})
    def delete(self, request, key: str, number: int, comment_id: int):
        """Delete your own comment, or anyone's with comment.moderate."""
        comment = access_comment(member=self.member, project=self.project, number=number, comment_id=comment_id)
        may_moderate = "comment.moderate" in project_permissions(member=self.member, project=self.project)
        comment_delete(comment=comment, actor=self.member, may_moderate=may_moderate)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabelListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "project.manage"}

    @extend_schema(operation_id="project_labels_list", responses=paginated(TaskLabelOutputSerializer))
    def get(self, request, key: str):
        labels = Label.objects.filter(project=self.project).order_by("name", "pk")
        return paginated_response(view=self, request=request, items=labels, serializer_class=TaskLabelOutputSerializer)

    @extend_schema(
        request=LabelInputSerializer,
        responses={201: TaskLabelOutputSerializer},
        examples=[OpenApiExample("Bug", request_only=True, value={"name": "bug", "color": "#d1242f"})],
    )
    def post(self, request, key: str):
        """Create a label (project managers)."""
        serializer = LabelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        label = label_save(project=self.project, actor=self.member, **serializer.validated_data)
        return Response(TaskLabelOutputSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetailApi(ProjectScopedApi):
    required_permissions = {"PATCH": "project.manage", "DELETE": "project.manage"}

    @extend_schema(request=LabelInputSerializer, responses={200: TaskLabelOutputSerializer})
    def patch(self, request, key: str, label_id: int):
        label = access_label(member=self.member, project=self.project, label_id=label_id)
        if not isinstance(request.data, Mapping):
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        payload = request.data.dict() if hasattr(request.data, "dict") else request.data  # form or JSON
        serializer = LabelInputSerializer(data={"name": label.name, **payload})
        serializer.is_valid(raise_exception=True)
        updated = label_save(project=self.project, label=label, actor=self.member, **serializer.validated_data)
        return Response(TaskLabelOutputSerializer(updated).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted; tasks lose the label.")})
    def delete(self, request, key: str, label_id: int):
        label = access_label(member=self.member, project=self.project, label_id=label_id)
        label_delete(label=label, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "attachment.upload"}
    parser_classes = [MultiPartParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication: session auth's CSRF check reads the POST body, and the
        # size limit must already be in force when that happens.
        if request.method == "POST":
            limit = settings.TESSERA_ATTACHMENT_MAX_BYTES
            declared = request.META.get("CONTENT_LENGTH") or "0"
            if declared.isdigit() and int(declared) > limit + 64 * 1024:  # room for the multipart envelope
                raise PayloadTooLarge(limit)
            request._request.upload_handlers.insert(0, SizeLimitUploadHandler(request._request, limit))
        super().initial(request, *args, **kwargs)

    @extend_schema(operation_id="task_attachments_list", responses=paginated(AttachmentOutputSerializer))
    def get(self, request, key: str, number: int):
        task = access_task(member=self.member, project=self.project, number=number)
        items = Attachment.objects.filter(task=task).select_related("uploaded_by").order_by("created_at", "pk")
        return paginated_response(view=self, request=request, items=items, serializer_class=AttachmentOutputSerializer)

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadInputSerializer},
        responses={
            201: AttachmentOutputSerializer,
            413: OpenApiResponse(description="Larger than TESSERA_ATTACHMENT_MAX_BYTES; nothing stored."),
        },
    )
    def post(self, request, key: str, number: int):
        """Upload a file (multipart field `file`). The size limit is enforced while the
        body streams in; the name is sanitised and the type sniffed."""
        task = access_task(member=self.member, project=self.project, number=number)
        upload = request.FILES.get("file")
        if getattr(request._request, "upload_too_large", False):
            raise PayloadTooLarge(settings.TESSERA_ATTACHMENT_MAX_BYTES)
        if upload is None:
            raise ValidationError({"file": [_("Attach a file in the multipart field “file”.")]})
        try:
            attachment = attachment_add(task=task, actor=self.member, upload=upload)
        except Task.DoesNotExist as exc:  # deleted while the file streamed in
            raise NotFound() from exc
        return Response(AttachmentOutputSerializer(attachment).data, status=status.HTTP_201_CREATED)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int):
        super().__init__({"detail": f"The file is larger than the limit of {limit} bytes.", "limit": limit})


class AttachmentDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "DELETE": "attachment.upload"}

    @extend_schema(
        operation_id="task_attachment_download",
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The file, as a download.")},
    )
    def get(self, request, key: str, number: int, attachment_id: int):
        """Download: always `Content-Disposition: attachment`, `nosniff`, and a sandbox
        CSP, so an uploaded page or SVG never runs in the browser."""
        attachment = access_attachment(
            member=self.member, project=self.project, number=number, attachment_id=attachment_id
        )
        content_type = attachment.content_type
        if content_type == "text/plain":
            content_type = "text/plain; charset=utf-8"
        try:
            stored = storage().open(attachment.storage_key, "rb")
        except FileNotFoundError as exc:
            raise NotFound("The file is missing from storage.") from exc
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=attachment.filename,
            content_type=content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, file included.")})
    def delete(self, request, key: str, number: int, attachment_id: int):
        attachment = access_attachment(
            member=self.member, project=self.project, number=number, attachment_id=attachment_id
        )
        attachment_remove(attachment=attachment, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


class UsageApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        responses=UsageOutputSerializer,
        examples=[
            OpenApiExample("Usage", value={"members": 12, "projects": 4, "tasks": 310, "storage_bytes": 5242880})
        ],
    )
    def get(self, request):
        """What the organisation uses: members, projects, tasks, attachment storage
        (owners and admins)."""
        require_org_manager(request, "Only owners and admins see the organisation's usage.")
        return Response(UsageOutputSerializer(organization_usage()).data)
