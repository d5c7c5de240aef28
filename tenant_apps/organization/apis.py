"""What the organisation uses (owners and admins)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.tenants.permissions import IsOrganizationMember, require_org_manager
from tenant_apps.organization.selectors import organization_usage
from tenant_apps.organization.serializers import UsageOutputSerializer


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
