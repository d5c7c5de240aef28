"""A task's relations to other tasks (issue 15 item 3): blocks / blocked by, duplicates
/ duplicated by, relates to. Reading needs project.view; adding and removing task.edit
on the task of the URL, and seeing the other task (any project of the organisation)."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from tenant_apps.members.models import Member
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.projects.selectors import projects_visible_to, sees_every_project
from tenant_apps.tasks.filters import TASK_KEY_RE
from tenant_apps.tasks.models import Task, TaskRelation
from tenant_apps.tasks.permissions import access_task
from tenant_apps.tasks.relations import relation_add, relation_remove, relations_of
from tenant_apps.tasks.serializers import TaskRelationInputSerializer, TaskRelationOutputSerializer


def visible_project_ids(member: Member | None) -> set[int] | None:
    """The projects whose tasks `member` may see related (None: all of them)."""
    return None if sees_every_project(member) else set(projects_visible_to(member).values_list("pk", flat=True))


def related_task_find(*, member: Member | None, reference: str) -> Task:
    """The task `reference` (KEY-n) names, if `member` can see it; otherwise (no such
    task, or in a project they cannot see: the same answer) ValidationError."""
    match = TASK_KEY_RE.match(reference or "")
    if match is None:
        raise ValidationError({"task": [_("Give a task key such as WEB-42.")]})
    try:
        return access_task(member=member, project=match.group(1).upper(), number=int(match.group(2)))
    except Http404 as exc:
        raise ValidationError({"task": [_("No such task.")]}) from exc


class TaskRelationListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "task.edit"}

    @extend_schema(operation_id="task_relations_list", responses=TaskRelationOutputSerializer(many=True))
    def get(self, request, key: str, number: int):
        """The task's relations (those to tasks you can see), as this task sees them. A
        handful per task: not paginated; one statement."""
        task = access_task(member=self.member, project=self.project, number=number)
        rows = relations_of(task, visible_project_ids=visible_project_ids(self.member))
        return Response(TaskRelationOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=TaskRelationInputSerializer,
        responses={201: TaskRelationOutputSerializer},
        examples=[OpenApiExample("Blocked by", request_only=True, value={"kind": "blocked_by", "task": "OPS-7"})],
    )
    def post(self, request, key: str, number: int):
        """Relate this task to another (in any project you can see). Marking a duplicate
        closes the duplicate in its project's cancelled state (task.change_status there)."""
        task = access_task(member=self.member, project=self.project, number=number, code="task.edit")
        serializer = TaskRelationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        other = related_task_find(member=self.member, reference=serializer.validated_data["task"])
        relation = relation_add(task=task, other=other, kind=serializer.validated_data["kind"], actor=self.member)
        row = next(item for item in relations_of(task, visible_project_ids=None) if item["id"] == relation.pk)
        return Response(TaskRelationOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class TaskRelationDetailApi(ProjectScopedApi):
    required_permissions = {"DELETE": "task.edit"}

    @extend_schema(responses={204: OpenApiResponse(description="Unlinked (a closed duplicate stays closed).")})
    def delete(self, request, key: str, number: int, relation_id: int):
        task = access_task(member=self.member, project=self.project, number=number, code="task.edit")
        relation = (
            TaskRelation.objects.select_related("source", "target").filter(pk=relation_id).filter(source=task).first()
            or TaskRelation.objects.select_related("source", "target").filter(pk=relation_id, target=task).first()
        )
        if relation is None:
            raise NotFound()
        relation_remove(relation=relation, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
