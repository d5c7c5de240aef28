"""Which tenant schemas are behind on migrations, found with one SQL query.

`migrate_schemas` costs ~130 ms per schema even when there is nothing to do (it builds the
migration graph and checks each schema); with thousands of organisations a deploy would
spend minutes on no-ops. One query tells which schemas are behind (DESIGN.md section 2).
"""

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from psycopg2 import sql

from shared_apps.tenants.models import Organization


def tenant_migrations_on_disk() -> set[tuple[str, str]]:
    """(app_label, name) of every migration of the tenant apps, replaced squashes included
    as their replacements (what `django_migrations` records)."""
    tenant_labels = {apps.get_app_config(path.rsplit(".", 1)[-1]).label for path in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    expected = set()
    for key in loader.graph.nodes:
        if key[0] in tenant_labels:
            migration = loader.graph.nodes[key]
            expected.update(migration.replaces or [key])
    return expected


def schemas_behind(schema_names: list[str] | None = None) -> list[str]:
    """Tenant schemas (all by default) missing any migration on disk, or with no
    `django_migrations` table at all."""
    if schema_names is None:
        schema_names = list(
            Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("pk")
            .values_list("schema_name", flat=True)
        )
    if not schema_names:
        return []
    expected = sorted(tenant_migrations_on_disk())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schema_names],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        behind = [name for name in schema_names if name not in with_table]
        candidates = [name for name in schema_names if name in with_table]
        if candidates:
            parts = [
                sql.SQL(
                    "SELECT {schema_literal} FROM {schema}.django_migrations "
                    "WHERE (app, name) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                    "HAVING count(DISTINCT (app, name)) < %s"
                ).format(schema_literal=sql.Literal(name), schema=sql.Identifier(name))
                for name in candidates
            ]
            query = sql.SQL(" UNION ALL ").join(parts).as_string(cursor.cursor)
            apps_column = [app for app, _name in expected]
            names_column = [name for _app, name in expected]
            cursor.execute(query, [apps_column, names_column, len(expected)] * len(candidates))
            behind.extend(row[0] for row in cursor.fetchall())
    order = {name: index for index, name in enumerate(schema_names)}
    return sorted(set(behind), key=order.__getitem__)
