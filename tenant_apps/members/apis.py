"""Members and invitations of the organisation the request's domain serves."""

from django.contrib.auth import login
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.core.parsers import BoundedJSONParser
from shared_apps.tenants.memberships import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
)
from shared_apps.tenants.models import Invitation
from shared_apps.tenants.permissions import IsOrganizationMember, membership_for_request, require_org_manager
from shared_apps.tenants.services import organization_url
from tenant_apps.members.models import Member
from tenant_apps.members.permissions import INVITATION_MANAGERS, access_invitation, access_member
from tenant_apps.members.serializers import (
    InvitationAcceptInputSerializer,
    InvitationAcceptOutputSerializer,
    InvitationCreateInputSerializer,
    InvitationOutputSerializer,
    MemberOutputSerializer,
    MemberRoleInputSerializer,
)
from tenant_apps.projects.permissions import member_for_request

_MEMBER_EXAMPLE = {
    "id": 3,
    "user_id": 42,
    "email": "mia@acme.example",
    "display_name": "Mia Member",
    "role": "member",
    "joined_at": "2026-11-26T09:00:00Z",
}


class MemberListApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        responses=paginated(MemberOutputSerializer),
        examples=[
            OpenApiExample("Members", value={"count": 1, "next": None, "previous": None, "results": [_MEMBER_EXAMPLE]})
        ],
    )
    def get(self, request):
        """The organisation's current members (any member may list them)."""
        members = Member.objects.filter(is_active=True).order_by("display_name", "email", "pk")
        return paginated_response(view=self, request=request, items=members, serializer_class=MemberOutputSerializer)


class MemberDetailApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        request=MemberRoleInputSerializer,
        responses={200: MemberOutputSerializer, 400: OpenApiResponse(description="Last owner, or unknown role.")},
        examples=[OpenApiExample("Make admin", request_only=True, value={"role": "admin"})],
    )
    def patch(self, request, member_id: int):
        """Change a member's organisation role (owners and admins; owner role: owners)."""
        member, membership = access_member(member=member_for_request(request), member_id=member_id)
        serializer = MemberRoleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership_role_change(
            membership=membership,
            role=serializer.validated_data["role"],
            actor=membership_for_request(request),
        )
        member.refresh_from_db()
        return Response(MemberOutputSerializer(member).data)

    @extend_schema(responses={204: OpenApiResponse(description="Removed."), 400: OpenApiResponse()})
    def delete(self, request, member_id: int):
        """Remove a member (owners and admins), or leave (yourself). Access ends at once."""
        _member, membership = access_member(member=member_for_request(request), member_id=member_id)
        membership_remove(
            membership=membership,
            actor=membership_for_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListCreateApi(APIView):
    permission_classes = [IsOrganizationMember]

    def _require_manager(self, request) -> None:
        # The list checks the (cached) membership, not the Member: no query of its own.
        require_org_manager(request, INVITATION_MANAGERS)

    @extend_schema(
        responses=paginated(InvitationOutputSerializer),
        examples=[
            OpenApiExample(
                "Pending",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "id": 9,
                            "email": "sam@acme.example",
                            "role": "member",
                            "invited_by": "ada@acme.example",
                            "created_at": "2026-11-26T09:00:00Z",
                            "expires_at": "2026-12-03T09:00:00Z",
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request):
        """Pending invitations (owners and admins)."""
        self._require_manager(request)
        invitations = Invitation.objects.select_related("invited_by").filter(
            organization_id=request.tenant.pk, accepted_at=None, revoked_at=None
        )
        return paginated_response(
            view=self, request=request, items=invitations, serializer_class=InvitationOutputSerializer
        )

    @extend_schema(
        request=InvitationCreateInputSerializer,
        responses={201: InvitationOutputSerializer},
        examples=[OpenApiExample("Invite", request_only=True, value={"email": "sam@acme.example", "role": "member"})],
    )
    def post(self, request):
        """Invite someone by email; the email carries a single-use, expiring link."""
        self._require_manager(request)
        serializer = InvitationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _token = invitation_create(
            organization=request.tenant,
            actor=membership_for_request(request),
            **serializer.validated_data,
        )
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(responses={204: OpenApiResponse(description="Withdrawn: the link stops working.")})
    def delete(self, request, invitation_id: int):
        invitation = access_invitation(member=member_for_request(request), invitation_id=invitation_id)
        invitation_revoke(invitation=invitation, actor=membership_for_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptApi(APIView):
    """Accept an invitation with the token from its link: logged in as the invited
    address, or creating that account (with `password`). A new account is logged in."""

    permission_classes = [AllowAny]
    # JSON only: it may log a browser in, so a cross-site HTML form must not reach it
    # (anonymous requests get no CSRF check from DRF).
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        request=InvitationAcceptInputSerializer,
        responses={
            200: InvitationAcceptOutputSerializer,
            400: OpenApiResponse(description="Invalid, expired, used or withdrawn link; wrong account."),
        },
        examples=[
            OpenApiExample(
                "New account",
                request_only=True,
                value={"token": "…", "password": "correct horse battery", "full_name": "Sam"},
            )
        ],
    )
    def post(self, request):
        serializer = InvitationAcceptInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = invitation_accept(
            organization=request.tenant,
            token=data["token"],
            actor=request.user,
            password=data.get("password"),
            full_name=data.get("full_name", ""),
        )
        if not request.user.is_authenticated:
            login(request._request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        output = {
            "organization": request.tenant.name,
            "role": membership.role,
            "url": organization_url(request.tenant),
        }
        return Response(InvitationAcceptOutputSerializer(output).data)
