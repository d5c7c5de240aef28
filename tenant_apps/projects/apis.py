from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.markup import markdown_html, markdown_html_many
from shared_apps.core.pagination import TesseraPagination, paginated, paginated_response
from shared_apps.tenants.permissions import IsOrganizationMember
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.projects.permissions import (
    ProjectScopedApi,
    access_project_member,
    access_role,
    may_create_projects,
    member_for_request,
    org_manager_require,
)
from tenant_apps.projects.selectors import project_list_visible
from tenant_apps.projects.serializers import (
    ProjectArchivedQuerySerializer,
    ProjectCreateInputSerializer,
    ProjectMemberAddInputSerializer,
    ProjectMemberOutputSerializer,
    ProjectMemberRoleInputSerializer,
    ProjectOutputSerializer,
    ProjectUpdateInputSerializer,
    RoleCreateInputSerializer,
    RoleDeleteQuerySerializer,
    RoleOutputSerializer,
    RoleUpdateInputSerializer,
)
from tenant_apps.projects.services import (
    project_create,
    project_delete,
    project_member_remove,
    project_member_set,
    project_update,
    role_create,
    role_delete,
    role_update,
)
from tenant_apps.tasks.cache import task_counts_by_project

_PROJECT_MEMBER_EXAMPLE = {
    "member_id": 3,
    "email": "mia@acme.example",
    "display_name": "Mia Member",
    "role_id": 2,
    "role": "Developer",
}
_ROLE_EXAMPLE = {"id": 5, "name": "QA", "permissions": ["project.view", "task.change_status"], "is_builtin": False}


class RoleListCreateApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        responses=paginated(RoleOutputSerializer),
        examples=[
            OpenApiExample("Roles", value={"count": 1, "next": None, "previous": None, "results": [_ROLE_EXAMPLE]})
        ],
    )
    def get(self, request):
        """Built-in and custom project roles with their permission codes."""
        return paginated_response(
            view=self, request=request, items=Role.objects.all(), serializer_class=RoleOutputSerializer
        )

    @extend_schema(
        request=RoleCreateInputSerializer,
        responses={201: RoleOutputSerializer},
        examples=[
            OpenApiExample("QA", request_only=True, value={"name": "QA", "permissions": _ROLE_EXAMPLE["permissions"]})
        ],
    )
    def post(self, request):
        """Create a custom role (organisation owners and admins)."""
        org_manager_require(
            member=member_for_request(request), message=_("Only organisation owners and admins manage roles.")
        )
        serializer = RoleCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = role_create(actor=member_for_request(request), **serializer.validated_data)
        return Response(RoleOutputSerializer(role).data, status=status.HTTP_201_CREATED)


class RoleDetailApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(request=RoleUpdateInputSerializer, responses={200: RoleOutputSerializer})
    def patch(self, request, role_id: int):
        """Rename a custom role or change its codes (owners and admins)."""
        role = access_role(member=member_for_request(request), role_id=role_id)
        serializer = RoleUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = role_update(role=role, actor=member_for_request(request), **serializer.validated_data)
        return Response(RoleOutputSerializer(role).data)

    @extend_schema(
        parameters=[OpenApiParameter("reassign_to", int, description="Role id that current holders move to.")],
        responses={
            204: OpenApiResponse(description="Deleted."),
            400: OpenApiResponse(description="Built-in or in use."),
        },
    )
    def delete(self, request, role_id: int):
        """Delete a custom role; if it is in use, `?reassign_to=<role id>` moves its holders."""
        role = access_role(member=member_for_request(request), role_id=role_id)
        query = RoleDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reassign_id = query.validated_data.get("reassign_to")
        reassign_to = None
        if reassign_id is not None:
            reassign_to = Role.objects.filter(pk=reassign_id).first()
            if reassign_to is None:
                raise ValidationError({"reassign_to": [_("No such role.")]})
        role_delete(role=role, reassign_to=reassign_to, actor=member_for_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectMemberListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "project.manage"}

    @extend_schema(
        responses=paginated(ProjectMemberOutputSerializer),
        examples=[
            OpenApiExample(
                "Members",
                value={"count": 1, "next": None, "previous": None, "results": [_PROJECT_MEMBER_EXAMPLE]},
            )
        ],
    )
    def get(self, request, key: str):
        """People in the project and their project roles."""
        members = (
            ProjectMember.objects.filter(project=self.project)
            .select_related("member", "role")
            .order_by("member__display_name", "member__email", "pk")
        )
        return paginated_response(
            view=self, request=request, items=members, serializer_class=ProjectMemberOutputSerializer
        )

    @extend_schema(
        request=ProjectMemberAddInputSerializer,
        responses={201: ProjectMemberOutputSerializer},
        examples=[OpenApiExample("Add a developer", request_only=True, value={"member_id": 3, "role_id": 2})],
    )
    def post(self, request, key: str):
        """Add an organisation member to the project (project managers, org admins)."""
        serializer = ProjectMemberAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = Member.objects.filter(pk=serializer.validated_data["member_id"], is_active=True).first()
        role = Role.objects.filter(pk=serializer.validated_data["role_id"]).first()
        errors = {}
        if member is None:
            errors["member_id"] = [_("No such member in this organisation.")]
        if role is None:
            errors["role_id"] = [_("No such role.")]
        if errors:
            raise ValidationError(errors)
        project_member = project_member_set(project=self.project, member=member, role=role, actor=self.member)
        return Response(ProjectMemberOutputSerializer(project_member).data, status=status.HTTP_201_CREATED)


class ProjectMemberDetailApi(ProjectScopedApi):
    required_permissions = {"PATCH": "project.manage", "DELETE": "project.manage"}

    @extend_schema(request=ProjectMemberRoleInputSerializer, responses={200: ProjectMemberOutputSerializer})
    def patch(self, request, key: str, member_id: int):
        """Change someone's role in the project."""
        project_member = access_project_member(member=self.member, project=self.project, member_id=member_id)
        serializer = ProjectMemberRoleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = Role.objects.filter(pk=serializer.validated_data["role_id"]).first()
        if role is None:
            raise ValidationError({"role_id": [_("No such role.")]})
        updated = project_member_set(project=self.project, member=project_member.member, role=role, actor=self.member)
        return Response(ProjectMemberOutputSerializer(updated).data)

    @extend_schema(responses={204: OpenApiResponse(description="Removed from the project.")})
    def delete(self, request, key: str, member_id: int):
        project_member = access_project_member(member=self.member, project=self.project, member_id=member_id)
        project_member_remove(project_member=project_member, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _project_data(project: Project, counts: dict[str, int], description_html: str | None = None) -> dict:
    return {
        "key": project.key,
        "name": project.name,
        "description": project.description,
        "description_html": markdown_html(project.description) if description_html is None else description_html,
        "lead_id": project.lead_id,
        "archived": project.archived,
        "estimate_unit": project.estimate_unit,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "task_counts": counts,
    }


_PROJECT_EXAMPLE = {
    "key": "WEB",
    "name": "Website",
    "description": "Our **public** site.",
    "description_html": "<p>Our <strong>public</strong> site.</p>",
    "lead_id": 1,
    "archived": False,
    "estimate_unit": "points",
    "created_at": "2026-11-26T09:00:00Z",
    "updated_at": "2026-11-26T09:00:00Z",
    "task_counts": {"todo": 4, "in_progress": 2, "done": 9},
}


class ProjectListCreateApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="projects_list",
        parameters=[OpenApiParameter("archived", bool, description="Only archived (true) or active (false) projects.")],
        responses=paginated(ProjectOutputSerializer),
        examples=[
            OpenApiExample(
                "Projects", value={"count": 1, "next": None, "previous": None, "results": [_PROJECT_EXAMPLE]}
            )
        ],
    )
    def get(self, request):
        """Projects you can see, with their task counts by status."""
        archived = ProjectArchivedQuerySerializer(data=request.query_params)
        archived.is_valid(raise_exception=True)
        projects = project_list_visible(member_for_request(request))
        if archived.validated_data.get("archived") is not None:
            projects = [project for project in projects if project.archived == archived.validated_data["archived"]]
        paginator = TesseraPagination()
        page = paginator.paginate_queryset(projects, request, view=self)
        counts = task_counts_by_project([project.pk for project in page])
        rendered = markdown_html_many([project.description for project in page])
        data = [_project_data(project, counts[project.pk], html) for project, html in zip(page, rendered, strict=True)]
        return paginator.get_paginated_response(ProjectOutputSerializer(data, many=True).data)

    @extend_schema(
        request=ProjectCreateInputSerializer,
        responses={201: ProjectOutputSerializer},
        examples=[OpenApiExample("Website", request_only=True, value={"key": "WEB", "name": "Website"})],
    )
    def post(self, request):
        """Create a project (owners, admins and members; not guests). You become its
        Project Manager."""
        if not may_create_projects(member_for_request(request)):  # before validating: 403, not 400
            raise PermissionDenied(_("Guests cannot create projects."))
        serializer = ProjectCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if Project.objects.filter(key=serializer.validated_data["key"]).exists():
            raise ValidationError({"key": ["A project with this key exists already."]})
        project = project_create(actor=member_for_request(request), **serializer.validated_data)
        return Response(ProjectOutputSerializer(_project_data(project, {})).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "PATCH": "project.manage", "DELETE": "project.manage"}

    @extend_schema(responses=ProjectOutputSerializer, examples=[OpenApiExample("Website", value=_PROJECT_EXAMPLE)])
    def get(self, request, key: str):
        counts = task_counts_by_project([self.project.pk])[self.project.pk]
        return Response(ProjectOutputSerializer(_project_data(self.project, counts)).data)

    @extend_schema(
        request=ProjectUpdateInputSerializer,
        responses={200: ProjectOutputSerializer},
        examples=[OpenApiExample("Archive", request_only=True, value={"archived": True})],
    )
    def patch(self, request, key: str):
        """Rename, describe, set the lead (a project member), archive or unarchive."""
        serializer = ProjectUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "lead_id" in data:
            lead_id = data.pop("lead_id")
            data["lead"] = None if lead_id is None else Member.objects.filter(pk=lead_id).first()
            if lead_id is not None and data["lead"] is None:
                raise ValidationError({"lead_id": [_("No such member.")]})
        project = project_update(project=self.project, data=data, actor=self.member)
        counts = task_counts_by_project([project.pk])[project.pk]
        return Response(ProjectOutputSerializer(_project_data(project, counts)).data)

    @extend_schema(
        parameters=[OpenApiParameter("confirm", str, required=True, description="The project key, repeated.")],
        responses={204: OpenApiResponse(description="Deleted with all its tasks."), 400: OpenApiResponse()},
    )
    def delete(self, request, key: str):
        """Delete the project and everything in it. `?confirm=<KEY>` is required."""
        confirm_key = request.query_params.get("confirm", "")
        project_delete(project=self.project, confirm_key=confirm_key, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
