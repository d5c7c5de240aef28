from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """The web application's shell (top bar, navigation), the My work home page, global
    search and the live-update checks. No tables of its own: every read and write goes
    through the other apps' selectors and services."""

    name = "tenant_apps.workspace"
    label = "workspace"
