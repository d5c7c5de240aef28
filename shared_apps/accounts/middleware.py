"""An organisation's "require two-factor authentication" setting, enforced on its domain.

A member without an authenticator (allauth.mfa) who has logged in with a session is led
to set one up before anything else: pages redirect to the two-factor set-up page
(allauth's two-factor page, which offers both an authenticator app and a security key);
API session requests are answered 403 with the code `two_factor_required`. Requests
with an API token are refused the same way by the token's authentication class
(shared_apps.accounts.tokens), because tokens authenticate after middleware runs."""

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shared_apps.tenants.permissions import membership_for_request

TWO_FACTOR_REQUIRED = "two_factor_required"
TWO_FACTOR_REQUIRED_MESSAGE = _(
    "This organisation requires two-factor authentication: set up an authenticator app or add a security key to go on."
)
# What a member without two-factor authentication can still reach: allauth's pages
# (setting it up, logging out, email and password) and its JSON API, our account pages,
# the language switch and static files.
_EXEMPT_PREFIXES = ("/accounts/", "/_allauth/", "/account/", "/language/", "/static/", "/i18n/")


def two_factor_missing(request, user) -> bool:
    """Whether the organisation of `request` requires two-factor authentication and
    `user`, one of its members, has not set it up. One indexed query, and only in
    organisations that require it."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public or not getattr(tenant, "require_two_factor", False):
        return False
    return not is_mfa_enabled(user)


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        if (
            tenant is None
            or tenant.is_public
            or not getattr(tenant, "require_two_factor", False)
            or user is None
            or not user.is_authenticated
            or request.path_info.startswith(_EXEMPT_PREFIXES)
            # Not a member: the page or endpoint refuses them as it always does.
            or membership_for_request(request) is None
            or not two_factor_missing(request, user)
        ):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": str(TWO_FACTOR_REQUIRED_MESSAGE), "code": TWO_FACTOR_REQUIRED}, status=403)
        # The page offering both ways (an authenticator app, a security key), not one of them.
        target = reverse("mfa_index")
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        messages.warning(request, str(TWO_FACTOR_REQUIRED_MESSAGE))
        return redirect(target)
