"""A project's labels."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from shared_apps.core.pagination import paginated, paginated_response
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.tasks.models import Label
from tenant_apps.tasks.permissions import access_label
from tenant_apps.tasks.serializers import LabelInputSerializer, TaskLabelOutputSerializer
from tenant_apps.tasks.services import label_delete, label_save


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
