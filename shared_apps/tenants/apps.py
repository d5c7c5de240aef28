from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "shared_apps.tenants"
    label = "tenants"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from shared_apps.tenants import signals  # noqa: F401  (host cache invalidation)
