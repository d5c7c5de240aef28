"""allauth glue: where people land after logging in or verifying their email, which
hosts count as "ours" for redirects, and the relying party of security keys."""

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from shared_apps.core.middleware import HEADLESS_PREFIX
from shared_apps.tenants.selectors import organizations_for_user
from shared_apps.tenants.services import organization_url


def _is_platform_host(host: str) -> bool:
    return host == settings.BASE_DOMAIN or host.endswith(f".{settings.BASE_DOMAIN}")


def is_platform_url(url: str) -> bool:
    """Whether `url` is relative or points at the root domain or an organisation domain.

    Django's own check runs on the URL with backslashes made slashes (browsers do the
    same), and anything with user info, escapes or odd characters in the host fails."""
    normalised = url.replace("\\", "/")
    parts = urlsplit(normalised)
    if not parts.netloc:
        return url_has_allowed_host_and_scheme(normalised, allowed_hosts=None)
    host = (parts.hostname or "").lower()
    if "@" in parts.netloc or "%" in parts.netloc or not _is_platform_host(host):
        return False
    return url_has_allowed_host_and_scheme(normalised, allowed_hosts={parts.netloc})


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Sign-up creates an organisation: only on the root domain (the HTML page or
        # POST /api/v1/signup/; the headless API's sign-up would create an account
        # without one). People join an existing organisation through an invitation.
        if request.path_info.startswith(HEADLESS_PREFIX):
            return False
        tenant = getattr(request, "tenant", None)
        return tenant is None or tenant.is_public

    def is_safe_url(self, url):
        return bool(url) and is_platform_url(url)

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


def webauthn_rp_id(host: str) -> str:
    """The WebAuthn relying-party id for a request to `host` (no port).

    On the root domain and every organisation domain it is BASE_DOMAIN: a key registered
    on acme.example.com is bound to example.com, and browsers offer it on example.com
    and all its subdomains (WebAuthn allows an RP id that is a registrable suffix of the
    page's host). A one-label BASE_DOMAIN such as `localhost` is no registrable domain,
    so browsers refuse it on subdomains: there (development, tests) a key is bound to
    the host it was registered on. Any other host keeps allauth's default, the host."""
    host = host.lower()
    base = settings.BASE_DOMAIN.lower()
    if host == base or ("." in base and host.endswith(f".{base}")):
        return base
    return host


class MFAAdapter(DefaultMFAAdapter):
    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        host = context.request.get_host().partition(":")[0]
        return {"id": webauthn_rp_id(host), "name": "Tessera"}
