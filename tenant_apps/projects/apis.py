from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.api import service_call
from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.permissions import IsOrganizationMember, membership_for_request
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.projects.permissions import HasProjectPermission, user_can
from tenant_apps.projects.serializers import (
    ProjectMemberAddInputSerializer,
    ProjectMemberOutputSerializer,
    ProjectMemberRoleInputSerializer,
    RoleCreateInputSerializer,
    RoleDeleteQuerySerializer,
    RoleOutputSerializer,
    RoleUpdateInputSerializer,
)
from tenant_apps.projects.services import (
    project_member_remove,
    project_member_set,
    role_create,
    role_delete,
    role_update,
)


def _require_org_admin(request) -> None:
    if membership_for_request(request).role not in (OrgRole.OWNER, OrgRole.ADMIN):
        raise PermissionDenied("Only organisation owners and admins manage roles.")


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
        _require_org_admin(request)
        serializer = RoleCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = service_call(role_create, **serializer.validated_data)
        return Response(RoleOutputSerializer(role).data, status=status.HTTP_201_CREATED)


class RoleDetailApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(request=RoleUpdateInputSerializer, responses={200: RoleOutputSerializer})
    def patch(self, request, role_id: int):
        """Rename a custom role or change its codes (owners and admins)."""
        _require_org_admin(request)
        role = get_object_or_404(Role, pk=role_id)
        serializer = RoleUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(RoleOutputSerializer(service_call(role_update, role=role, **serializer.validated_data)).data)

    @extend_schema(
        parameters=[OpenApiParameter("reassign_to", int, description="Role id that current holders move to.")],
        responses={
            204: OpenApiResponse(description="Deleted."),
            400: OpenApiResponse(description="Built-in or in use."),
        },
    )
    def delete(self, request, role_id: int):
        """Delete a custom role; if it is in use, `?reassign_to=<role id>` moves its holders."""
        _require_org_admin(request)
        role = get_object_or_404(Role, pk=role_id)
        query = RoleDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reassign_id = query.validated_data.get("reassign_to")
        reassign_to = None
        if reassign_id is not None:
            reassign_to = Role.objects.filter(pk=reassign_id).first()
            if reassign_to is None:
                raise ValidationError({"reassign_to": ["No such role."]})
        service_call(role_delete, role=role, reassign_to=reassign_to)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectScopedApi(APIView):
    """Resolves the project from the URL before permissions are checked. A project the
    user may not see is a 404, never a 403 (DESIGN.md section 8)."""

    permission_classes = [IsOrganizationMember, HasProjectPermission]
    required_permissions: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        self.project = None
        super().initial(request, *args, **kwargs)

    def check_permissions(self, request):
        # Membership first (403 for outsiders), then the project (404 if invisible).
        for permission in self.get_permissions():
            if isinstance(permission, HasProjectPermission):
                self.project = Project.objects.filter(key=self.kwargs["key"]).first()
                if self.project is None or not user_can(request, "project.view", self.project):
                    raise NotFound()
            if not permission.has_permission(request, self):
                self.permission_denied(request, message=getattr(permission, "message", None))


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
            errors["member_id"] = ["No such member in this organisation."]
        if role is None:
            errors["role_id"] = ["No such role."]
        if errors:
            raise ValidationError(errors)
        project_member = service_call(project_member_set, project=self.project, member=member, role=role)
        return Response(ProjectMemberOutputSerializer(project_member).data, status=status.HTTP_201_CREATED)


class ProjectMemberDetailApi(ProjectScopedApi):
    required_permissions = {"PATCH": "project.manage", "DELETE": "project.manage"}

    def _project_member(self, member_id: int) -> ProjectMember:
        return get_object_or_404(
            ProjectMember.objects.select_related("member", "role"), project=self.project, member_id=member_id
        )

    @extend_schema(request=ProjectMemberRoleInputSerializer, responses={200: ProjectMemberOutputSerializer})
    def patch(self, request, key: str, member_id: int):
        """Change someone's role in the project."""
        project_member = self._project_member(member_id)
        serializer = ProjectMemberRoleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = Role.objects.filter(pk=serializer.validated_data["role_id"]).first()
        if role is None:
            raise ValidationError({"role_id": ["No such role."]})
        updated = service_call(project_member_set, project=self.project, member=project_member.member, role=role)
        return Response(ProjectMemberOutputSerializer(updated).data)

    @extend_schema(responses={204: OpenApiResponse(description="Removed from the project.")})
    def delete(self, request, key: str, member_id: int):
        project_member_remove(project_member=self._project_member(member_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
