"""Which tenant schemas are behind on migrations.

`migrate_schemas` pays a fixed cost per schema even when there is nothing to do (it runs
Django's migrate in each); with thousands of organisations a deploy would spend minutes
on no-ops. A query over every schema's `django_migrations` tells which are behind
(DESIGN.md section 2), one per 500 schemas, but it still opens every schema's table:
~0.6-1.6 ms a schema, 6-16 s at 10,000.

So a schema found current is recorded in the public `SchemaMigrationState` with a digest
of the migration files on disk, and a trigger on its `django_migrations` forgets the
record in the same transaction as any change there (a migration applied or unapplied by
any command, a row deleted by hand). A no-op is then one public query joined to the
catalogue (the record's table still there, its trigger too) plus the digest, without
loading the migration graph; only schemas without a valid record at this digest are
checked table by table. `verify=True` checks every schema that way.
"""

import hashlib
import importlib.util
import pkgutil
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from psycopg2 import sql

from shared_apps.tenants.models import Organization

# Schemas per query: keeps each statement far below PostgreSQL's parser limits.
_CHUNK = 500
# Schemas recorded per transaction (each takes a lock on its django_migrations until
# the commit, so that no change slips between the check and the record).
_RECORD_CHUNK = 100
_TRIGGER = "tenants_migration_state"


def _tenant_app_configs():
    return [config for config in apps.get_app_configs() if config.name in settings.TENANT_APPS]


def migrations_digest() -> str:
    """A digest of the tenant apps' migration files (names and contents): it changes
    whenever a migration is added, removed, squashed or edited. Reads the files, without
    importing them or building the graph (~0.5 s)."""
    digest = hashlib.sha256()
    for config in sorted(_tenant_app_configs(), key=lambda config: config.label):
        module_name, _explicit = MigrationLoader.migrations_module(config.label)
        spec = importlib.util.find_spec(module_name) if module_name else None
        digest.update(f"app {config.label} {module_name}\n".encode())
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            for module in sorted(pkgutil.iter_modules([location]), key=lambda module: module.name):
                if module.ispkg or module.name[0] in "_~":
                    continue
                path = Path(location) / f"{module.name}.py"
                digest.update(f"migration {module.name}\n".encode())
                digest.update(path.read_bytes() if path.exists() else b"(no source)")
    return digest.hexdigest()


def tenant_migrations_on_disk() -> set[tuple[str, str]]:
    """(app_label, name) of every migration of the tenant apps, a squash counted as the
    migrations it replaces (what `django_migrations` records)."""
    tenant_labels = {config.label for config in _tenant_app_configs()}
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


def _with_table(cursor, schema_names: list[str]) -> set[str]:
    # pg_class by its (relname, relnamespace) index: information_schema.tables takes
    # ~0.3 s per 1,000 schemas.
    cursor.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
        [schema_names],
    )
    return {row[0] for row in cursor.fetchall()}


def recorded_current(schema_names: list[str], digest: str) -> set[str]:
    """The schemas whose record is at `digest`, on the very `django_migrations` table it
    was written for, that table's trigger still in place: one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state.schema_name FROM public.tenants_schemamigrationstate AS state "
            "JOIN pg_class c ON c.oid = state.table_oid AND c.relname = 'django_migrations' "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = state.schema_name "
            "JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = %s "
            "WHERE state.digest = %s AND state.schema_name = ANY(%s)",
            [_TRIGGER, digest, schema_names],
        )
        return {row[0] for row in cursor.fetchall()}


def _check_and_record(cursor, schemas: list[str], expected: list[tuple[str, str]], digest: str) -> list[str]:
    """Checks `schemas` (each with a django_migrations table) table by table and records
    those current, in one transaction: the trigger is created first, and its lock keeps
    the table unchanged until the record is committed. Returns those behind."""
    for schema in schemas:
        cursor.execute(
            sql.SQL(
                "CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION public.tenants_migration_state_forget()"
            ).format(trigger=sql.Identifier(_TRIGGER), table=sql.Identifier(schema, "django_migrations"))
        )
    behind = set(_behind_in_chunk(cursor, schemas, expected))
    current = [schema for schema in schemas if schema not in behind]
    if current:
        cursor.execute(
            "INSERT INTO public.tenants_schemamigrationstate (schema_name, digest, table_oid) "
            "SELECT name, %s, to_regclass(quote_ident(name) || '.django_migrations')::oid "
            "FROM unnest(%s::text[]) AS name "
            "ON CONFLICT (schema_name) DO UPDATE SET digest = EXCLUDED.digest, table_oid = EXCLUDED.table_oid",
            [digest, current],
        )
    return [schema for schema in schemas if schema in behind]


def schemas_behind(schema_names: list[str] | None = None, *, verify: bool = False) -> list[str]:
    """Tenant schemas (all by default) missing any migration on disk, or with no
    `django_migrations` table at all, in the order given. Schemas with a valid record at
    the current digest are taken as current (all are checked with `verify`); the others
    are checked table by table, and recorded if current."""
    if schema_names is None:
        schema_names = list(
            Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("pk")
            .values_list("schema_name", flat=True)
        )
    if not schema_names:
        return []
    digest = migrations_digest()
    recorded = set() if verify else recorded_current(schema_names, digest)
    unknown = [name for name in schema_names if name not in recorded]
    if not unknown:
        return []
    expected = sorted(tenant_migrations_on_disk())
    with connection.cursor() as cursor:
        with_table = _with_table(cursor, unknown)
    behind = {name for name in unknown if name not in with_table}
    candidates = [name for name in unknown if name in with_table]
    for start in range(0, len(candidates), _RECORD_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            behind.update(_check_and_record(cursor, candidates[start : start + _RECORD_CHUNK], expected, digest))
    return [name for name in schema_names if name in behind]


def applied_migrations_by_schema(schema_names: list[str]) -> dict[str, frozenset[tuple[str, str]]]:
    """Every (app, name) recorded in each schema's `django_migrations` (all apps: tenant
    schemas record the shared apps' migrations too), one query per 500 schemas; a schema
    without the table has applied nothing."""
    applied: dict[str, set[tuple[str, str]]] = {name: set() for name in schema_names}
    with connection.cursor() as cursor:
        with_table = _with_table(cursor, schema_names)
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
