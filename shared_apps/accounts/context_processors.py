"""Which layout the account pages (ours and allauth's "manage" pages: email addresses,
password, two-factor authentication) render in: the shell on an organisation's domain
for one of its members, the plain layout everywhere else (the root domain)."""

from django.db import connection

from shared_apps.tenants.permissions import membership_for_request

SHELL_LAYOUT = "accounts/layout_shell.html"
PLAIN_LAYOUT = "accounts/layout_plain.html"


def account_layout(request) -> dict:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    in_shell = (
        tenant is not None
        and not tenant.is_public
        and connection.schema_name != "public"
        and user is not None
        and user.is_authenticated
        and membership_for_request(request) is not None
    )
    return {"account_layout": SHELL_LAYOUT if in_shell else PLAIN_LAYOUT}
