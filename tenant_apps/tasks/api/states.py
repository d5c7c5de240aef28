"""A project's workflow states (issue 15): the board's columns. Reading needs
project.view; adding, changing and deleting them project.manage."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from tenant_apps.projects.models import WorkflowState
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.projects.services import state_create, state_delete, state_update
from tenant_apps.tasks.serializers import (
    WorkflowStateCreateInputSerializer,
    WorkflowStateDeleteInputSerializer,
    WorkflowStateOutputSerializer,
    WorkflowStateUpdateInputSerializer,
)


def access_state(*, project, state_id: int) -> WorkflowState:
    """A state of `project` (the door has checked the project), else 404."""
    state = WorkflowState.objects.select_related("project").filter(pk=state_id, project=project).first()
    if state is None:
        raise NotFound()
    return state


class StateListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "project.manage"}

    @extend_schema(operation_id="project_states_list", responses=WorkflowStateOutputSerializer(many=True))
    def get(self, request, key: str):
        """The project's states in board order (a handful: not paginated)."""
        states = WorkflowState.objects.filter(project=self.project).order_by("position", "pk")
        return Response(WorkflowStateOutputSerializer(states, many=True).data)

    @extend_schema(
        request=WorkflowStateCreateInputSerializer,
        responses={201: WorkflowStateOutputSerializer},
        examples=[
            OpenApiExample("QA", request_only=True, value={"name": "QA", "category": "in_progress", "position": 3})
        ],
    )
    def post(self, request, key: str):
        """Add a state (project.manage), by default after the last one."""
        serializer = WorkflowStateCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = state_create(project=self.project, actor=self.member, **serializer.validated_data)
        state.refresh_from_db()
        return Response(WorkflowStateOutputSerializer(state).data, status=status.HTTP_201_CREATED)


class StateDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "PATCH": "project.manage", "DELETE": "project.manage"}

    @extend_schema(responses=WorkflowStateOutputSerializer)
    def get(self, request, key: str, state_id: int):
        return Response(WorkflowStateOutputSerializer(access_state(project=self.project, state_id=state_id)).data)

    @extend_schema(request=WorkflowStateUpdateInputSerializer, responses=WorkflowStateOutputSerializer)
    def patch(self, request, key: str, state_id: int):
        """Rename, recolour, move or recategorise (its tasks take the new category)."""
        state = access_state(project=self.project, state_id=state_id)
        serializer = WorkflowStateUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = state_update(state=state, data=serializer.validated_data, actor=self.member)
        updated.refresh_from_db()
        return Response(WorkflowStateOutputSerializer(updated).data)

    @extend_schema(
        request=WorkflowStateDeleteInputSerializer,
        responses={
            204: OpenApiResponse(description="Deleted; its tasks are in `move_to` now."),
            400: OpenApiResponse(description="`move_to` missing while tasks are in the state, or the last state."),
        },
        examples=[OpenApiExample("Move to Done", request_only=True, value={"move_to": 14})],
    )
    def delete(self, request, key: str, state_id: int):
        """Delete a state; its tasks move to `move_to` (body or query parameter) in the
        same transaction."""
        state = access_state(project=self.project, state_id=state_id)
        source = request.data if isinstance(request.data, Mapping) and request.data else request.query_params
        raw = source.get("move_to")
        serializer = WorkflowStateDeleteInputSerializer(data={} if raw in (None, "") else {"move_to": raw})
        serializer.is_valid(raise_exception=True)
        move_to = None
        if "move_to" in serializer.validated_data:
            move_to = WorkflowState.objects.filter(
                pk=serializer.validated_data["move_to"], project=self.project
            ).first()
            if move_to is None:
                raise ValidationError({"move_to": [_("No such state in this project.")]})
        state_delete(state=state, move_to=move_to, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
