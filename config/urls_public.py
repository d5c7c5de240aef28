"""URLs of the root domain (BASE_DOMAIN): landing page, sign-up and login, the user's
organisations, platform admin, Stripe webhooks, API docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from shared_apps.accounts import pages as account_pages
from shared_apps.accounts.views import SignupConfirmEmailView
from shared_apps.billing.views import stripe_webhook
from shared_apps.core.views import api_docs_csp, landing
from shared_apps.tenants.views import SignupView, organization_picker

urlpatterns = [
    path("", landing, name="landing"),
    path("accounts/signup/", SignupView.as_view(), name="account_signup"),
    # After sign-up, the emailed confirmation link logs the new person in (any browser).
    path("accounts/confirm-email/<str:key>/", SignupConfirmEmailView.as_view(), name="account_confirm_email"),
    path("accounts/", include("allauth.urls")),
    # allauth's JSON API (log-in, log-out, session, email verification, password reset).
    path("_allauth/", include("allauth.headless.urls")),
    path("organizations/", organization_picker, name="organization-picker"),
    # Account pages (also on every organisation's domain, in its shell).
    path("account/", account_pages.account_page, name="account"),
    path("account/tokens/", account_pages.tokens_page, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", account_pages.token_revoke, name="account-token-revoke"),
    # The language switch of the root domain's pages (Django's set_language view).
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The endpoint to register in Stripe (Developers -> Webhooks): docs/billing.md.
    path("billing/stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("api/v1/", include("shared_apps.tenants.urls_public")),
    path("api/v1/", include("shared_apps.accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls_public"), name="schema"),
    path("api/docs/", api_docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", api_docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
]

# Under /api/, unknown URLs and requests Django refuses before any view answer JSON.
handler400 = "shared_apps.core.views.bad_request_answer"
handler404 = "shared_apps.core.views.not_found"
