"""Saved views of a project (the caller's own and the shared ones)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from shared_apps.core.pagination import paginated, paginated_response
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.savedviews.permissions import access_view
from tenant_apps.savedviews.selectors import views_visible
from tenant_apps.savedviews.serializers import (
    SavedViewCreateInputSerializer,
    SavedViewOutputSerializer,
    SavedViewUpdateInputSerializer,
)
from tenant_apps.savedviews.services import view_create, view_delete, view_update


class SavedViewListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "project.view"}

    @extend_schema(operation_id="project_views_list", responses=paginated(SavedViewOutputSerializer))
    def get(self, request, key: str):
        """Your views of the project and the ones shared with it, by name (one statement
        per page)."""
        views = views_visible(member=self.member, project=self.project)
        return paginated_response(view=self, request=request, items=views, serializer_class=SavedViewOutputSerializer)

    @extend_schema(
        request=SavedViewCreateInputSerializer,
        responses={201: SavedViewOutputSerializer},
        examples=[
            OpenApiExample(
                "Urgent bugs",
                request_only=True,
                value={
                    "name": "Urgent bugs",
                    "layout": "list",
                    "filters": {"priority": ["urgent"], "field_3": ["7"]},
                    "ordering": "-updated",
                    "columns": ["status", "assignees", "field_3"],
                },
            )
        ],
    )
    def post(self, request, key: str):
        """Save a view (private unless `shared`, which needs project.manage). Filters,
        ordering and columns are checked as the task list checks them."""
        serializer = SavedViewCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        view = view_create(project=self.project, actor=self.member, **serializer.validated_data)
        return Response(SavedViewOutputSerializer(view).data, status=status.HTTP_201_CREATED)


class SavedViewDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "PATCH": "project.view", "DELETE": "project.view"}

    @extend_schema(responses=SavedViewOutputSerializer)
    def get(self, request, key: str, view_id: int):
        view = access_view(member=self.member, project=self.project, view_id=view_id)
        return Response(SavedViewOutputSerializer(view).data)

    @extend_schema(request=SavedViewUpdateInputSerializer, responses=SavedViewOutputSerializer)
    def patch(self, request, key: str, view_id: int):
        """Change your view (or, with project.manage, a shared one)."""
        view = access_view(member=self.member, project=self.project, view_id=view_id)
        serializer = SavedViewUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        view = view_update(view=view, actor=self.member, **serializer.validated_data)
        return Response(SavedViewOutputSerializer(view).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted.")})
    def delete(self, request, key: str, view_id: int):
        view = access_view(member=self.member, project=self.project, view_id=view_id)
        view_delete(view=view, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
