"""allauth glue: where people land after logging in or verifying their email, and which
hosts count as "ours" for redirects."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

from shared_apps.tenants.selectors import organizations_for_user
from shared_apps.tenants.services import organization_url


def _is_platform_host(host: str) -> bool:
    host = host.split(":")[0].lower()
    return host == settings.BASE_DOMAIN or host.endswith(f".{settings.BASE_DOMAIN}")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Sign-up creates an organisation: only on the root domain. People join an
        # existing organisation through an invitation.
        tenant = getattr(request, "tenant", None)
        return tenant is None or tenant.is_public

    def is_safe_url(self, url):
        from django.utils.http import url_has_allowed_host_and_scheme

        if url and url.startswith(("http://", "https://")):
            from urllib.parse import urlsplit

            return _is_platform_host(urlsplit(url).netloc)
        return url_has_allowed_host_and_scheme(url, allowed_hosts=None)

    def get_login_redirect_url(self, request) -> str:
        """On an organisation's domain: stay there. On the root domain: straight into the
        user's only organisation, or the list to pick one from."""
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not tenant.is_public:
            return "/"
        organizations = organizations_for_user(request.user)
        if len(organizations) == 1:
            return organization_url(organizations[0][0])
        return reverse("organization-picker")

    def get_signup_redirect_url(self, request) -> str:
        # After sign-up (and its email verification): into the new organisation.
        return self.get_login_redirect_url(request)

    def get_email_verification_redirect_url(self, email_address):
        request = self.request
        if request.user.is_authenticated:
            return self.get_login_redirect_url(request)
        return super().get_email_verification_redirect_url(email_address)
