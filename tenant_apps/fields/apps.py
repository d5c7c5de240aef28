from django.apps import AppConfig


class FieldsConfig(AppConfig):
    name = "tenant_apps.fields"
    label = "fields"
    verbose_name = "Custom fields"
