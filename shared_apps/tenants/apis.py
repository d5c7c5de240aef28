from allauth.core import ratelimit
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.core.parsers import BoundedJSONParser
from shared_apps.tenants.forms import OrganizationSignupForm
from shared_apps.tenants.models import Organization
from shared_apps.tenants.permissions import IsOrganizationMember, membership_for_request, require_org_manager
from shared_apps.tenants.selectors import organizations_for_user
from shared_apps.tenants.serializers import (
    CurrentOrganizationOutputSerializer,
    OrganizationUpdateInputSerializer,
    SignupInputSerializer,
    SignupOutputSerializer,
    UserOrganizationOutputSerializer,
)
from shared_apps.tenants.services import domain_for_slug, organization_settings_update, organization_url
from shared_apps.tenants.signup import signup_submit


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
                    "time_zone": "Europe/Berlin",
                    "language": "en",
                    "created_at": "2026-11-26T09:00:00Z",
                },
            )
        ],
    )
    def get(self, request):
        membership = membership_for_request(request)
        return Response(_current_organization(membership.organization, membership.role))

    @extend_schema(
        request=OrganizationUpdateInputSerializer,
        responses={200: CurrentOrganizationOutputSerializer, 400: OpenApiResponse(description="Field errors.")},
        examples=[OpenApiExample("Time zone", request_only=True, value={"time_zone": "Europe/Berlin"})],
    )
    def patch(self, request):
        """Rename the organisation, set its time zone or default language (owners and admins)."""
        require_org_manager(request, "Only owners and admins change the organisation's settings.")
        serializer = OrganizationUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_for_request(request)
        organization = organization_settings_update(
            organization=membership.organization,
            actor=request.user,
            **serializer.validated_data,
        )
        return Response(_current_organization(organization, membership.role))


def _current_organization(organization: Organization, role: str) -> dict:
    data = {
        "name": organization.name,
        "slug": organization.slug,
        "domain": domain_for_slug(organization.slug),
        "role": role,
        "time_zone": organization.time_zone,
        "language": organization.language,
        "created_at": organization.created_at,
    }
    return CurrentOrganizationOutputSerializer(data).data


class SignupApi(APIView):
    """Sign up: create an account and an organisation (root domain). A verification email
    is sent; once the link is confirmed the person is logged in at the organisation."""

    permission_classes = [AllowAny]
    authentication_classes = []  # no session needed, so no CSRF token either
    # JSON only: a cross-site HTML form cannot post JSON without a CORS preflight.
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        request=SignupInputSerializer,
        responses={
            201: SignupOutputSerializer,
            400: OpenApiResponse(description="Invalid, reserved or taken slug; bad email or weak password."),
            429: OpenApiResponse(description="Too many sign-ups from this address."),
        },
        examples=[
            OpenApiExample(
                "Sign up Acme",
                request_only=True,
                value={
                    "email": "ada@acme.example",
                    "password": "correct horse battery staple",
                    "organization_name": "Acme",
                    "slug": "acme",
                },
            ),
            OpenApiExample(
                "Created",
                response_only=True,
                status_codes=["201"],
                value={
                    "email": "ada@acme.example",
                    "organization": "Acme",
                    "url": "https://acme.example.com/",
                    "email_verification_sent": True,
                },
            ),
        ],
    )
    def post(self, request):
        serializer = SignupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not ratelimit.consume(request, action="signup"):
            raise Throttled(detail=_("Too many sign-ups from this address; try again in a minute."))
        data = serializer.validated_data
        form = OrganizationSignupForm(
            data={
                "email": data["email"],
                "password1": data["password"],
                "password2": data["password"],
                "organization_name": data["organization_name"],
                "slug": data["slug"],
            }
        )
        if not form.is_valid() or signup_submit(request=request._request, form=form) is None:
            raise ValidationError(_form_errors(form))
        output = {
            "email": data["email"].lower(),
            "organization": form.organization.name,
            "url": organization_url(form.organization),
            "email_verification_sent": True,
        }
        return Response(SignupOutputSerializer(output).data, status=status.HTTP_201_CREATED)


def _form_errors(form) -> dict[str, list[str]]:
    """Form errors keyed like the API's fields (`password1`/`password2` -> `password`)."""
    renamed = {"password1": "password", "password2": "password", "__all__": "non_field_errors"}
    errors: dict[str, list[str]] = {}
    for field, messages in form.errors.items():
        errors.setdefault(renamed.get(field, field), []).extend(messages)
    return errors


class UserOrganizationsApi(APIView):
    """The organisations the logged-in user belongs to (root domain), to pick one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=paginated(UserOrganizationOutputSerializer),
        examples=[
            OpenApiExample(
                "Two organisations",
                value={
                    "count": 2,
                    "next": None,
                    "previous": None,
                    "results": [
                        {"name": "Acme", "slug": "acme", "url": "https://acme.example.com/", "role": "owner"},
                        {"name": "Globex", "slug": "globex", "url": "https://globex.example.com/", "role": "member"},
                    ],
                },
            )
        ],
    )
    def get(self, request):
        data = [
            {"name": organization.name, "slug": organization.slug, "url": organization_url(organization), "role": role}
            for organization, role in organizations_for_user(request.user)
        ]
        return paginated_response(
            view=self, request=request, items=data, serializer_class=UserOrganizationOutputSerializer
        )
