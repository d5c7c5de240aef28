from django.db import connection
from django.http import Http404
from django_tenants.middleware.main import TenantMainMiddleware

from shared_apps.tenants.host_cache import organization_for_host
from shared_apps.tenants.models import Domain, Organization


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with the host lookup cached (DESIGN.md section 2).

    The root domain (BASE_DOMAIN) serves the public schema; `<slug>.<BASE_DOMAIN>` serves
    that organisation; any other host, or a spare schema, is a 404 page."""

    def get_tenant(self, domain_model, hostname):
        organization = organization_for_host(hostname)
        if organization is None or organization.status == Organization.Status.SPARE:
            raise Domain.DoesNotExist(hostname)
        return organization

    def no_tenant_found(self, request, hostname):
        connection.set_schema_to_public()
        raise Http404(f"No organisation at {hostname}")
