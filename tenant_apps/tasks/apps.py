from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tenant_apps.tasks"
    label = "tasks"
    verbose_name = "Tasks"
