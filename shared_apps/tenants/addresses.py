"""Where an organisation is reached: its domain and absolute URLs on it. Its own module
(models and settings only), so billing and the tenant services can both use it without
importing each other."""

from django.conf import settings

from shared_apps.tenants.models import Organization


def domain_for_slug(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def root_url(path: str = "/") -> str:
    """Absolute URL of `path` on the root domain (landing, sign-up, organisation picker)."""
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"


def organization_url(organization: Organization, path: str = "/") -> str:
    """Absolute URL of `path` on the organisation's domain, as people open it."""
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{domain_for_slug(organization.slug)}{port}{path}"
