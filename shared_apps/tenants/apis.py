from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.tenants.permissions import IsOrganizationMember, membership_for_request
from shared_apps.tenants.serializers import CurrentOrganizationOutputSerializer
from shared_apps.tenants.services import domain_for_slug


class CurrentOrganizationApi(APIView):
    """The organisation this domain serves, as seen by the requesting member."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(
        responses=CurrentOrganizationOutputSerializer,
        examples=[
            OpenApiExample(
                "Acme",
                value={
                    "name": "Acme",
                    "slug": "acme",
                    "domain": "acme.example.com",
                    "role": "owner",
                    "created_at": "2026-11-26T09:00:00Z",
                },
            )
        ],
    )
    def get(self, request):
        organization = request.tenant
        membership = membership_for_request(request)
        data = {
            "name": organization.name,
            "slug": organization.slug,
            "domain": domain_for_slug(organization.slug),
            "role": membership.role,
            "created_at": membership.organization.created_at,
        }
        return Response(CurrentOrganizationOutputSerializer(data).data)
