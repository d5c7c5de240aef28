from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from shared_apps.tenants.host_cache import organization_for_host
from shared_apps.tenants.models import Domain, Organization


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with the host lookup cached (DESIGN.md section 2).

    The root domain (BASE_DOMAIN) serves the public schema; `<slug>.<BASE_DOMAIN>` serves
    that organisation; any other host, or a spare schema, is a 404 page."""

    @staticmethod
    def hostname_from_request(request):
        try:
            return TenantMainMiddleware.hostname_from_request(request)
        except DisallowedHost:
            # A host outside ALLOWED_HOSTS gets the same 404 page as an unknown subdomain
            # (django-tenants would answer with an empty body).
            return ""

    def get_tenant(self, domain_model, hostname):
        organization = organization_for_host(hostname)
        if organization is None or organization.status == Organization.Status.SPARE:
            raise Domain.DoesNotExist(hostname)
        return organization

    def no_tenant_found(self, request, hostname):
        connection.set_schema_to_public()
        raise Http404(f"No organisation at {hostname}")


class SuspendedOrganizationMiddleware:
    """A suspended organisation answers 403 to everyone but platform staff; its data is
    kept. Runs after authentication, so staff sessions are known."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.status != Organization.Status.SUSPENDED or request.user.is_staff:
            return self.get_response(request)
        message = _("This organisation is suspended. Its data is kept; contact support to reactivate it.")
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message, "code": "organization_suspended"}, status=403)
        return render(request, "tenants/suspended.html", {"organization": tenant, "message": message}, status=403)
