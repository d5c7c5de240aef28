"""The organisation's billing: what it is on and uses (members), checkout and the Stripe
customer portal (owners)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.billing.selectors import billing_overview
from shared_apps.billing.serializers import (
    BillingCheckoutInputSerializer,
    BillingManagerOutputSerializer,
    BillingOutputSerializer,
    BillingRedirectOutputSerializer,
)
from shared_apps.billing.services import checkout_session_create, portal_session_create
from shared_apps.tenants.models import MANAGER_ROLES, OrgRole
from shared_apps.tenants.permissions import IsOrganizationMember, membership_for_request

_OWNERS_ONLY = "Only owners manage billing."
_USAGE = {"unit": "count", "usage": 3, "allowance": 5, "available": 2}
_OVERVIEW_EXAMPLE = {
    "billing_enabled": True,
    "plan": {"code": "free", "name": "Free"},
    "status": "active",
    "comped": False,
    "read_only": False,
    "limits": {
        "members": _USAGE,
        "projects": {"unit": "count", "usage": 3, "allowance": 3, "available": 0},
        "storage_bytes": {"unit": "bytes", "usage": 5242880, "allowance": 1073741824, "available": 1068498944},
        "reports_per_month": {"unit": "count", "usage": None, "allowance": 10, "available": None},
    },
    "billing_url": "https://acme.example.com/billing/",
    "plans": [
        {
            "code": "team",
            "name": "Team",
            "limits": {"members": 50, "projects": 50, "storage_bytes": 107374182400, "reports_per_month": 200},
            "purchasable": True,
        }
    ],
    "trial_end": None,
    "current_period_end": None,
    "next_invoice_date": None,
    "cancel_at_period_end": False,
    "past_due_since": None,
    "read_only_from": None,
    "has_billing_account": False,
}
_REFUSALS = {
    403: OpenApiResponse(description="Not an owner."),
    409: OpenApiResponse(description="Conflicts with the subscription (already subscribed, none yet, granted)."),
    502: OpenApiResponse(description="Stripe could not be reached; nothing changed."),
    503: OpenApiResponse(description="Billing is disabled on this server (no STRIPE_SECRET_KEY)."),
}


def _require_owner(request) -> None:
    membership = membership_for_request(request)
    if membership is None or membership.role != OrgRole.OWNER:
        raise PermissionDenied(_OWNERS_ONLY)


class BillingApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="billing_retrieve",
        responses=BillingManagerOutputSerializer,
        examples=[OpenApiExample("Free, projects full (as an owner)", value=_OVERVIEW_EXAMPLE)],
    )
    def get(self, request):
        """Plan, status, usage against each limit and the plans on offer (members); the
        period end, next invoice date and past-due dates too (owners and admins)."""
        full = membership_for_request(request).role in MANAGER_ROLES
        serializer = BillingManagerOutputSerializer if full else BillingOutputSerializer
        return Response(serializer(billing_overview(organization=request.tenant, full=full)).data)


class BillingCheckoutApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        request=BillingCheckoutInputSerializer,
        responses={200: BillingRedirectOutputSerializer, 400: OpenApiResponse(description="Unknown or free plan.")}
        | _REFUSALS,
        examples=[
            OpenApiExample("Upgrade to Team", request_only=True, value={"plan": "team"}),
            OpenApiExample(
                "Stripe Checkout", response_only=True, value={"url": "https://checkout.stripe.com/c/pay/cs_test_a1"}
            ),
        ],
    )
    def post(self, request):
        """Start an upgrade (owners): a Stripe Checkout Session for the plan; send the
        browser to `url`. The plan changes when Stripe confirms the payment."""
        _require_owner(request)
        serializer = BillingCheckoutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = checkout_session_create(
            organization=request.tenant,
            plan_code=serializer.validated_data["plan"],
            actor=request.user,
        )
        return Response(BillingRedirectOutputSerializer({"url": url}).data)


class BillingPortalApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        request=None,
        responses={200: BillingRedirectOutputSerializer} | _REFUSALS,
        examples=[
            OpenApiExample(
                "Customer portal", response_only=True, value={"url": "https://billing.stripe.com/p/session/test_a1"}
            )
        ],
    )
    def post(self, request):
        """Open Stripe's customer portal (owners): payment methods, invoices, plan
        changes, cancellation. Send the browser to `url`."""
        _require_owner(request)
        url = portal_session_create(organization=request.tenant)
        return Response(BillingRedirectOutputSerializer({"url": url}).data)
