"""URLs of an organisation's domain (<slug>.<BASE_DOMAIN>): the product API and pages."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from shared_apps.accounts.views import SignupConfirmEmailView
from shared_apps.billing.views import billing_page
from shared_apps.core.views import api_docs_csp
from tenant_apps.members.views import invitation_page
from tenant_apps.notifications import pages as inbox_pages
from tenant_apps.notifications.views import unsubscribe_page
from tenant_apps.projects import pages as project_pages
from tenant_apps.tasks import pages as task_pages
from tenant_apps.workspace import views as workspace

urlpatterns = [
    # The web application (DESIGN.md section 10).
    path("", workspace.home, name="organization-home"),
    path("search/", workspace.search, name="search"),
    path("language/", workspace.language_set, name="language-set"),
    path("soon/<slug:page>/", workspace.coming_soon, name="coming-soon"),
    path("organizations/menu/", workspace.organizations_menu, name="organizations-menu"),
    path("inbox/", inbox_pages.inbox, name="inbox"),
    path("inbox/bell/", inbox_pages.bell, name="inbox-bell"),
    path("inbox/read-all/", inbox_pages.notifications_read_all, name="inbox-read-all"),
    path("inbox/<int:notification_id>/read/", inbox_pages.notification_read, name="inbox-read"),
    path("projects/", project_pages.projects_page, name="projects"),
    path("projects/key-suggestion/", project_pages.project_key_suggestion, name="project-key-suggestion"),
    path("projects/<str:key>/", task_pages.board, name="board"),
    path("projects/<str:key>/column/<int:state_id>/", task_pages.board_column, name="board-column"),
    path("projects/<str:key>/move/", task_pages.board_move, name="board-move"),
    path("projects/<str:key>/list/", task_pages.task_list, name="task-list"),
    path("projects/<str:key>/archive/", project_pages.project_archive, name="project-archive"),
    path("projects/<str:key>/delete/", project_pages.project_delete_page, name="project-delete"),
    # Workflow states (issue 15)
    path("projects/<str:key>/settings/states/", project_pages.project_states_page, name="project-states"),
    path("tasks/", task_pages.task_list, name="task-list-all"),
    path("tasks/bulk/", task_pages.task_bulk, name="task-bulk"),
    path("tasks/new/", task_pages.task_new, name="task-new"),
    path("live/", task_pages.live_check, name="live-check"),
    # Login, logout, password reset and email change on every organisation's domain
    # (sign-up is refused here: the adapter opens it on the root domain only).
    # After sign-up, the emailed confirmation link logs the new person in (any browser).
    path("accounts/confirm-email/<str:key>/", SignupConfirmEmailView.as_view(), name="account_confirm_email"),
    path("accounts/", include("allauth.urls")),
    # allauth's JSON API (log-in, log-out, session, email verification, password reset).
    path("_allauth/", include("allauth.headless.urls")),
    path("invitations/<str:token>/", invitation_page, name="invitation"),
    path("tasks/<str:reference>/", task_pages.task_page, name="task-page"),
    path("tasks/<str:reference>/<slug:action>/", task_pages.task_action, name="task-action"),
    path("notifications/unsubscribe/<str:token>/", unsubscribe_page, name="notifications-unsubscribe"),
    path("billing/", billing_page, name="billing"),
    path("api/v1/", include("shared_apps.tenants.urls")),
    path("api/v1/", include("shared_apps.billing.urls")),
    path("api/v1/", include("tenant_apps.members.urls")),
    path("api/v1/", include("tenant_apps.projects.urls")),
    path("api/v1/", include("tenant_apps.tasks.urls")),
    path("api/v1/", include("tenant_apps.organization.urls")),
    path("api/v1/", include("tenant_apps.notifications.urls")),
    path("api/v1/", include("tenant_apps.reports.urls")),
    path("api/v1/", include("shared_apps.audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls_tenant"), name="schema"),
    path("api/docs/", api_docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", api_docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
]

# Under /api/, unknown URLs and requests Django refuses before any view answer JSON.
handler400 = "shared_apps.core.views.bad_request_answer"
handler404 = "shared_apps.core.views.not_found"
