"""Settings for bench/migrate_many.py's rollout: the development settings plus the tasks
app's migrations with two bench-only ones (bench/migrate_many_migrations)."""

from config.settings.local import *  # noqa: F403

MIGRATION_MODULES = {"tasks": "bench.migrate_many_migrations"}
