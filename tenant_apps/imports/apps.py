from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "tenant_apps.imports"
    label = "imports"
    verbose_name = "Imports"
