"""Time entries of a task: list (with the task's totals), log, change and delete your own."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from shared_apps.core.pagination import paginated, paginated_response
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.tasks.permissions import access_task
from tenant_apps.timetracking.permissions import access_time_entry
from tenant_apps.timetracking.selectors import time_entries_of
from tenant_apps.timetracking.serializers import TimeEntryInputSerializer, TimeEntryOutputSerializer
from tenant_apps.timetracking.services import time_entry_create, time_entry_delete, time_entry_update


def _data(serializer) -> dict:
    data = dict(serializer.validated_data)
    if "date" in data:
        data["day"] = data.pop("date")
    return data


class TimeEntryListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "time.log"}

    @extend_schema(operation_id="task_time_entries_list", responses=paginated(TimeEntryOutputSerializer))
    def get(self, request, key: str, number: int):
        """Everyone's entries on the task, newest day first. The task's totals (its own
        and with its sub-tasks) are on the task itself: `time_spent_minutes`,
        `time_total_minutes`."""
        task = access_task(member=self.member, project=self.project, number=number)
        return paginated_response(
            view=self, request=request, items=time_entries_of(task), serializer_class=TimeEntryOutputSerializer
        )

    @extend_schema(
        request=TimeEntryInputSerializer,
        responses={201: TimeEntryOutputSerializer},
        examples=[OpenApiExample("Log 90 minutes", request_only=True, value={"minutes": 90, "date": "2026-12-01"})],
    )
    def post(self, request, key: str, number: int):
        """Log your time on the task (time.log)."""
        task = access_task(member=self.member, project=self.project, number=number)
        serializer = TimeEntryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = time_entry_create(task=task, actor=self.member, **_data(serializer))
        return Response(TimeEntryOutputSerializer(entry).data, status=status.HTTP_201_CREATED)


class TimeEntryDetailApi(ProjectScopedApi):
    required_permissions = {"PATCH": "time.log", "DELETE": "time.log"}

    @extend_schema(
        request=TimeEntryInputSerializer(partial=True),
        responses={
            200: TimeEntryOutputSerializer,
            403: OpenApiResponse(description="Not your entry (or no time.log); nothing changed."),
        },
    )
    def patch(self, request, key: str, number: int, entry_id: int):
        """Change your own entry."""
        entry = access_time_entry(member=self.member, project=self.project, number=number, entry_id=entry_id)
        serializer = TimeEntryInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = time_entry_update(entry=entry, actor=self.member, **_data(serializer))
        return Response(TimeEntryOutputSerializer(updated).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted."),
            403: OpenApiResponse(description="Not your entry (or no time.log)."),
        }
    )
    def delete(self, request, key: str, number: int, entry_id: int):
        """Delete your own entry."""
        entry = access_time_entry(member=self.member, project=self.project, number=number, entry_id=entry_id)
        time_entry_delete(entry=entry, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
