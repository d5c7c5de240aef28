from django.apps import AppConfig


class SavedViewsConfig(AppConfig):
    name = "tenant_apps.savedviews"
    label = "savedviews"
    verbose_name = "Saved views"
