from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created


def _session_settings_apply(sender, connection, **kwargs) -> None:
    """Per-connection PostgreSQL settings (DATABASE_WORK_MEM). Sent on the raw connection:
    no Django cursor, so no search_path is set and no query is logged or counted."""
    work_mem = getattr(settings, "DATABASE_WORK_MEM", "")
    if work_mem and connection.vendor == "postgresql":
        with connection.connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, false)", [work_mem])


class CoreConfig(AppConfig):
    name = "shared_apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        connection_created.connect(_session_settings_apply, dispatch_uid="tessera-session-settings")
