"""URLs of an organisation's domain (<slug>.<BASE_DOMAIN>): the product API and pages."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from shared_apps.accounts.views import SignupConfirmEmailView
from shared_apps.billing.views import billing_page
from shared_apps.core.views import organization_home
from tenant_apps.members.views import invitation_page
from tenant_apps.notifications.views import unsubscribe_page
from tenant_apps.tasks.views import task_page

urlpatterns = [
    path("", organization_home, name="organization-home"),
    # Login, logout, password reset and email change on every organisation's domain
    # (sign-up is refused here: the adapter opens it on the root domain only).
    # After sign-up, the emailed confirmation link logs the new person in (any browser).
    path("accounts/confirm-email/<str:key>/", SignupConfirmEmailView.as_view(), name="account_confirm_email"),
    path("accounts/", include("allauth.urls")),
    # allauth's JSON API (log-in, log-out, session, email verification, password reset).
    path("_allauth/", include("allauth.headless.urls")),
    path("invitations/<str:token>/", invitation_page, name="invitation"),
    path("tasks/<str:reference>/", task_page, name="task-page"),
    path("notifications/unsubscribe/<str:token>/", unsubscribe_page, name="notifications-unsubscribe"),
    path("billing/", billing_page, name="billing"),
    path("api/v1/", include("shared_apps.tenants.urls")),
    path("api/v1/", include("shared_apps.billing.urls")),
    path("api/v1/", include("tenant_apps.members.urls")),
    path("api/v1/", include("tenant_apps.projects.urls")),
    path("api/v1/", include("tenant_apps.tasks.urls")),
    path("api/v1/", include("tenant_apps.notifications.urls")),
    path("api/v1/", include("tenant_apps.reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls_tenant"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

# Under /api/, unknown URLs and requests Django refuses before any view answer JSON.
handler400 = "shared_apps.core.views.bad_request_answer"
handler404 = "shared_apps.core.views.not_found"
