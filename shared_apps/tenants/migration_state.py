"""Which tenant schemas are behind on migrations, found with one SQL query per 500
schemas.

`migrate_schemas` pays a fixed cost per schema even when there is nothing to do (it runs
Django's migrate in each); with thousands of organisations a deploy would spend minutes
on no-ops. A query over every schema's `django_migrations` tells which are behind
(DESIGN.md section 2).
"""

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from psycopg2 import sql

from shared_apps.tenants.models import Organization

# Schemas per query: keeps each statement far below PostgreSQL's parser limits.
_CHUNK = 500


def tenant_migrations_on_disk() -> set[tuple[str, str]]:
    """(app_label, name) of every migration of the tenant apps, a squash counted as the
    migrations it replaces (what `django_migrations` records)."""
    tenant_labels = {config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    expected = set()
    for key, migration in loader.graph.nodes.items():
        if key[0] in tenant_labels:
            expected.update(migration.replaces or [key])
    return expected


def _behind_in_chunk(cursor, schemas: list[str], expected: list[tuple[str, str]]) -> list[str]:
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "SELECT {literal} AS schema_name, "
            "(SELECT count(*) FROM {table} AS applied JOIN expected USING (app, name)) AS applied"
        ).format(literal=sql.Literal(schema), table=sql.Identifier(schema, "django_migrations"))
        for schema in schemas
    )
    query = sql.SQL(
        "WITH expected (app, name) AS (SELECT * FROM unnest(%s::text[], %s::text[])) "
        "SELECT schema_name FROM ({counts}) AS per_schema WHERE applied < %s"
    ).format(counts=counts)
    cursor.execute(query, [[app for app, _ in expected], [name for _, name in expected], len(expected)])
    return [row[0] for row in cursor.fetchall()]


def schemas_behind(schema_names: list[str] | None = None) -> list[str]:
    """Tenant schemas (all by default) missing any migration on disk, or with no
    `django_migrations` table at all, in the order given."""
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
        behind = {name for name in schema_names if name not in with_table}
        candidates = [name for name in schema_names if name in with_table]
        for start in range(0, len(candidates), _CHUNK):
            behind.update(_behind_in_chunk(cursor, candidates[start : start + _CHUNK], expected))
    return [name for name in schema_names if name in behind]


def applied_migrations_by_schema(schema_names: list[str]) -> dict[str, frozenset[tuple[str, str]]]:
    """Every (app, name) recorded in each schema's `django_migrations` (all apps: tenant
    schemas record the shared apps' migrations too), one query per 500 schemas; a schema
    without the table has applied nothing."""
    applied: dict[str, set[tuple[str, str]]] = {name: set() for name in schema_names}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schema_names],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        candidates = [name for name in schema_names if name in with_table]
        for start in range(0, len(candidates), _CHUNK):
            rows = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {literal}, app, name FROM {table}").format(
                    literal=sql.Literal(schema), table=sql.Identifier(schema, "django_migrations")
                )
                for schema in candidates[start : start + _CHUNK]
            )
            cursor.execute(rows)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return {name: frozenset(migrations) for name, migrations in applied.items()}
