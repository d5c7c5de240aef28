"""URLs of an organisation's domain (<slug>.<BASE_DOMAIN>): the product API and pages."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from shared_apps.accounts import pages as account_pages
from shared_apps.accounts.views import SignupConfirmEmailView
from shared_apps.billing.views import billing_page
from shared_apps.core.views import api_docs_csp
from tenant_apps.fields import pages as field_pages
from tenant_apps.imports import pages as import_pages
from tenant_apps.members import pages as member_pages
from tenant_apps.members.views import invitation_page
from tenant_apps.notifications import pages as inbox_pages
from tenant_apps.notifications import webhook_pages
from tenant_apps.notifications.views import unsubscribe_page
from tenant_apps.organization import pages as organization_pages
from tenant_apps.projects import pages as project_pages
from tenant_apps.projects import settings_pages as project_settings_pages
from tenant_apps.reports import export_pages
from tenant_apps.reports import pages as report_pages
from tenant_apps.savedviews import pages as view_pages
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
    path("projects/<str:key>/settings/fields/", field_pages.fields_settings, name="project-fields"),
    path("projects/<str:key>/views/new/", view_pages.view_new, name="view-new"),
    path("projects/<str:key>/views/<int:view_id>/delete/", view_pages.view_delete_page, name="view-delete"),
    path("projects/<str:key>/import/", import_pages.import_upload_page, name="project-import"),
    path("projects/<str:key>/import/<int:import_id>/", import_pages.import_detail_page, name="project-import-detail"),
    path("projects/<str:key>/archive/", project_pages.project_archive, name="project-archive"),
    path("projects/<str:key>/delete/", project_pages.project_delete_page, name="project-delete"),
    # Settings pages (project, organisation, webhooks) and reports.
    path("projects/<str:key>/settings/", project_settings_pages.project_settings, name="project-settings"),
    path("reports/", report_pages.reports_page, name="reports"),
    path("reports/schedule/", report_pages.report_schedule_page, name="report-schedule"),
    path("reports/<int:report_id>/row/", report_pages.report_row, name="report-row"),
    path("reports/<int:report_id>/delete/", report_pages.report_delete_page, name="report-delete"),
    path("settings/organization/", organization_pages.organization_settings, name="organization-settings"),
    path("settings/webhooks/", webhook_pages.webhooks_page, name="webhooks"),
    path("settings/webhooks/<int:webhook_id>/", webhook_pages.webhook_page, name="webhook"),
    path("settings/webhooks/<int:webhook_id>/active/", webhook_pages.webhook_active, name="webhook-active"),
    path("settings/webhooks/<int:webhook_id>/delete/", webhook_pages.webhook_delete_page, name="webhook-delete"),
    path("settings/webhooks/<int:webhook_id>/edit/", webhook_pages.webhook_edit_page, name="webhook-edit"),
    path("settings/webhooks/<int:webhook_id>/secret/", webhook_pages.webhook_secret_page, name="webhook-secret"),
    # Workflow states (issue 15)
    path("projects/<str:key>/settings/states/", project_pages.project_states_page, name="project-states"),
    path("tasks/", task_pages.task_list, name="task-list-all"),
    path("tasks/bulk/", task_pages.task_bulk, name="task-bulk"),
    path("tasks/export/", export_pages.task_list_export, name="task-list-export"),
    path("reports/<int:report_id>/", export_pages.report_page, name="report-page"),
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
    # Organisation pages for owners and admins: members, project roles, audit log.
    path("settings/members/", member_pages.members_page, name="members"),
    path("settings/members/<int:member_id>/role/", member_pages.member_role, name="member-role"),
    path("settings/members/<int:member_id>/remove/", member_pages.member_remove, name="member-remove"),
    path(
        "settings/invitations/<int:invitation_id>/<slug:action>/",
        member_pages.invitation_action,
        name="invitation-action",
    ),
    path("settings/roles/", member_pages.roles_page, name="roles"),
    path("settings/roles/new/", member_pages.role_edit_page, name="role-new"),
    path("settings/roles/<int:role_id>/", member_pages.role_edit_page, name="role-edit"),
    path("settings/roles/<int:role_id>/delete/", member_pages.role_delete_page, name="role-delete"),
    path("settings/audit/", member_pages.audit_page, name="audit-log"),
    path("settings/audit/export/", member_pages.audit_export, name="audit-log-export"),
    # Account pages (also on the root domain) and the owners' security settings.
    path("account/", account_pages.account_page, name="account"),
    path("account/notifications/", inbox_pages.preferences_page, name="account-notifications"),
    path("account/tokens/", account_pages.tokens_page, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", account_pages.token_revoke, name="account-token-revoke"),
    path("settings/security/", account_pages.security_settings_page, name="settings-security"),
    path("api/v1/", include("shared_apps.tenants.urls")),
    path("api/v1/", include("shared_apps.billing.urls")),
    path("api/v1/", include("tenant_apps.members.urls")),
    path("api/v1/", include("tenant_apps.projects.urls")),
    path("api/v1/", include("tenant_apps.tasks.urls")),
    path("api/v1/", include("tenant_apps.fields.urls")),
    path("api/v1/", include("tenant_apps.savedviews.urls")),
    path("api/v1/", include("tenant_apps.organization.urls")),
    path("api/v1/", include("tenant_apps.notifications.urls")),
    path("api/v1/", include("tenant_apps.reports.urls")),
    path("api/v1/", include("tenant_apps.imports.urls")),
    path("api/v1/", include("tenant_apps.timetracking.urls")),
    path("api/v1/", include("shared_apps.audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls_tenant"), name="schema"),
    path("api/docs/", api_docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", api_docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
]

# Under /api/, unknown URLs and requests Django refuses before any view answer JSON.
handler400 = "shared_apps.core.views.bad_request_answer"
handler404 = "shared_apps.core.views.not_found"
