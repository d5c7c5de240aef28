from django.apps import AppConfig


class TimetrackingConfig(AppConfig):
    name = "tenant_apps.timetracking"
    label = "timetracking"
    verbose_name = "Time tracking"
