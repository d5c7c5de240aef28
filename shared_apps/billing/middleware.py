from django.http import JsonResponse

from shared_apps.billing.limits import billing_enabled, is_read_only, read_only_error
from shared_apps.billing.models import Subscription

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The billing endpoints stay writable: they are how the owner pays.
_EXEMPT_PREFIX = "/api/v1/billing/"


class BillingReadOnlyMiddleware:
    """An organisation past due beyond STRIPE_PAST_DUE_GRACE_DAYS is read-only: its API
    answers writes (POST, PUT, PATCH, DELETE under /api/) with 402, reads work, nothing
    is deleted. Costs one query per API write, none per read; nothing with billing
    disabled."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if (
            request.method in _SAFE_METHODS
            or not request.path_info.startswith("/api/")
            or request.path_info.startswith(_EXEMPT_PREFIX)
            or tenant is None
            or tenant.is_public
            or not billing_enabled()
            # Anonymous callers learn nothing about the organisation's payments: the view
            # answers them 401/403 as it would anyway.
            or (not request.user.is_authenticated and "HTTP_AUTHORIZATION" not in request.META)
        ):
            return self.get_response(request)
        subscription = Subscription.objects.select_related("organization").filter(organization_id=tenant.pk).first()
        if subscription is not None and is_read_only(subscription):
            error = read_only_error(subscription)
            return JsonResponse(error.as_dict(), status=error.status_code)
        return self.get_response(request)
