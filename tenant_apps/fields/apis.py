"""A project's custom fields (definitions), and a task's values of them."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from shared_apps.core.pagination import paginated, paginated_response
from tenant_apps.fields.models import CustomField
from tenant_apps.fields.permissions import access_field
from tenant_apps.fields.serializers import (
    CustomFieldCreateInputSerializer,
    CustomFieldOutputSerializer,
    CustomFieldUpdateInputSerializer,
    TaskFieldValuesInputSerializer,
)
from tenant_apps.fields.services import field_create, field_delete, field_update, id_valid, task_values_set
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.tasks.api.tasks import _task_response
from tenant_apps.tasks.permissions import access_task
from tenant_apps.tasks.serializers import TaskOutputSerializer


class FieldListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "project.manage"}

    @extend_schema(operation_id="project_fields_list", responses=paginated(CustomFieldOutputSerializer))
    def get(self, request, key: str):
        """The project's custom fields in their order, with their options (two statements)."""
        fields = CustomField.objects.filter(project=self.project).prefetch_related("options").order_by("position", "pk")
        return paginated_response(
            view=self, request=request, items=fields, serializer_class=CustomFieldOutputSerializer
        )

    @extend_schema(
        request=CustomFieldCreateInputSerializer,
        responses={201: CustomFieldOutputSerializer},
        examples=[
            OpenApiExample(
                "Severity",
                request_only=True,
                value={"name": "Severity", "kind": "select", "options": [{"name": "Low"}, {"name": "High"}]},
            )
        ],
    )
    def post(self, request, key: str):
        """Define a custom field (project managers): text, number, date, select,
        multi_select, person, checkbox or url."""
        serializer = CustomFieldCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field = field_create(project=self.project, actor=self.member, **serializer.validated_data)
        field = access_field(member=self.member, project=self.project, field_id=field.pk)
        return Response(CustomFieldOutputSerializer(field).data, status=status.HTTP_201_CREATED)


class FieldDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "PATCH": "project.manage", "DELETE": "project.manage"}

    @extend_schema(responses=CustomFieldOutputSerializer)
    def get(self, request, key: str, field_id: int):
        field = access_field(member=self.member, project=self.project, field_id=field_id)
        return Response(CustomFieldOutputSerializer(field).data)

    @extend_schema(request=CustomFieldUpdateInputSerializer, responses=CustomFieldOutputSerializer)
    def patch(self, request, key: str, field_id: int):
        """Rename, reorder, show on cards, or replace the options (left-out options are
        deleted with their values)."""
        field = access_field(member=self.member, project=self.project, field_id=field_id, code="project.manage")
        serializer = CustomFieldUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field_update(field=field, actor=self.member, **serializer.validated_data)
        field = access_field(member=self.member, project=self.project, field_id=field_id)
        return Response(CustomFieldOutputSerializer(field).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with every value of it.")})
    def delete(self, request, key: str, field_id: int):
        field = access_field(member=self.member, project=self.project, field_id=field_id, code="project.manage")
        field_delete(field=field, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskFieldValuesApi(ProjectScopedApi):
    # Reaching the task needs project.view; the service requires task.edit.
    required_permissions = {"PATCH": "project.view"}

    @extend_schema(
        operation_id="project_task_fields_set",
        request=TaskFieldValuesInputSerializer,
        responses={200: TaskOutputSerializer},
        examples=[OpenApiExample("Set two", request_only=True, value={"values": {"3": 7, "4": "2026-12-24"}})],
    )
    def patch(self, request, key: str, number: int):
        """Set (or clear, with null) some of the task's custom field values. One bad value
        is a 400 naming `field_<id>` and changes nothing. Needs task.edit."""
        task = access_task(member=self.member, project=self.project, number=number)
        serializer = TaskFieldValuesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw = serializer.validated_data["values"]
        bad = [name.replace("\x00", "") for name in raw if not id_valid(name)]
        if bad:
            raise ValidationError({"values": [_("Keys are field ids: %(keys)s.") % {"keys": ", ".join(bad[:5])}]})
        fields = {field.pk: field for field in CustomField.objects.filter(project=self.project, pk__in=map(int, raw))}
        unknown = [name for name in raw if int(name) not in fields]
        if unknown:
            raise ValidationError({f"field_{name}": [_("No such field in this project.")] for name in unknown})
        task_values_set(task=task, actor=self.member, values={fields[int(name)]: value for name, value in raw.items()})
        return _task_response(task)
