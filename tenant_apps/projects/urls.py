from django.urls import path

import tenant_apps.projects.converters  # noqa: F401  (registers <project_key:...>)
from tenant_apps.projects.apis import (
    ProjectDetailApi,
    ProjectListCreateApi,
    ProjectMemberDetailApi,
    ProjectMemberListApi,
    RoleDetailApi,
    RoleListCreateApi,
)

urlpatterns = [
    path("projects/", ProjectListCreateApi.as_view(), name="api-projects"),
    path("projects/<project_key:key>/", ProjectDetailApi.as_view(), name="api-project-detail"),
    path("roles/", RoleListCreateApi.as_view(), name="api-roles"),
    path("roles/<int:role_id>/", RoleDetailApi.as_view(), name="api-role-detail"),
    path("projects/<project_key:key>/members/", ProjectMemberListApi.as_view(), name="api-project-members"),
    path(
        "projects/<project_key:key>/members/<int:member_id>/",
        ProjectMemberDetailApi.as_view(),
        name="api-project-member-detail",
    ),
]
