"""The properties that keep the way past one database open (docs/scaling.md, "Citus"):
each organisation's schema stands alone, so it can become a Citus distributed schema
placed on one node (or move to another database), and public tables can become
reference tables.

1. No tenant model has a database foreign key to a public table (DESIGN.md section 3).
2. No query joins two tenant schemas: a static check of the raw SQL in the code.
3. Nothing in a tenant schema is reachable except through its own search_path: no
   foreign key, view or rule anywhere points into another schema's tables."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("config", "shared_apps", "tenant_apps")
# The one place that reads several schemas in one statement, and why it may: operator
# bookkeeping over `django_migrations` (which schemas are behind), never product data;
# under Citus it runs per node. Anything new here needs the same justification.
# The template clone copies the template schema's definitions and seeded rows into a new,
# empty schema (operator bookkeeping too; under Citus the template lives on each node).
CROSS_SCHEMA_ALLOWED = {"shared_apps/tenants/migration_state.py", "shared_apps/tenants/template.py"}


def _tenant_only_labels() -> set[str]:
    shared = {app.split(".")[-1] for app in settings.SHARED_APPS}
    return {app.split(".")[-1] for app in settings.TENANT_APPS} - shared


def test_no_tenant_model_has_a_database_foreign_key_to_a_public_table():
    tenant_labels = _tenant_only_labels()
    offending = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label not in tenant_labels:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or not field.concrete or field.related_model is None:
                continue
            if getattr(field, "db_constraint", False) and field.related_model._meta.app_label not in tenant_labels:
                offending.append(f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}")
    assert not offending, offending


def _python_sources() -> list[Path]:
    files = []
    for directory in SOURCE_DIRS:
        files += [path for path in (ROOT / directory).rglob("*.py") if "migrations" not in path.parts]
    return files


# SQL that names a schema explicitly: an interpolated "<schema>".table, a two-part
# psycopg2 sql.Identifier(schema, table), or SET search_path with more than one tenant.
_QUALIFIED = [
    re.compile(r"""["']?\"\{[^}]+\}\"\.\w+"""),  # f'"{schema}".table'
    re.compile(r"""sql\.Identifier\(\s*\w+\s*,\s*["']"""),  # sql.Identifier(schema, "table")
    re.compile(r"""\b(org_[a-z0-9]+)\.\w+"""),  # a literal tenant schema
]


def test_no_query_names_a_tenant_schema_explicitly_outside_the_allowed_bookkeeping():
    found = {}
    for path in _python_sources():
        text = path.read_text()
        hits = [match.group(0) for pattern in _QUALIFIED for match in pattern.finditer(text)]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert set(found) <= CROSS_SCHEMA_ALLOWED, found


def test_the_static_check_would_catch_a_cross_schema_join():
    sample = """cursor.execute(f'SELECT * FROM "{a}".tasks_task JOIN "{b}".tasks_task USING (id)')"""
    assert any(pattern.search(sample) for pattern in _QUALIFIED)
    assert any(pattern.search('sql.Identifier(schema, "tasks_task")') for pattern in _QUALIFIED)


@pytest.mark.django_db
def test_no_database_object_reaches_into_another_schema(org_a, org_b):
    tenant_schemas = {org_a.schema_name, org_b.schema_name}
    with connection.cursor() as cursor:
        # Foreign keys between schemas (tenant -> public, public -> tenant, tenant -> tenant).
        cursor.execute(
            """
            SELECT c.conname, n1.nspname, n2.nspname
            FROM pg_constraint c
            JOIN pg_class r1 ON r1.oid = c.conrelid JOIN pg_namespace n1 ON n1.oid = r1.relnamespace
            JOIN pg_class r2 ON r2.oid = c.confrelid JOIN pg_namespace n2 ON n2.oid = r2.relnamespace
            WHERE c.contype = 'f' AND n1.nspname <> n2.nspname AND (n1.nspname = ANY(%s) OR n2.nspname = ANY(%s))
            """,
            [list(tenant_schemas), list(tenant_schemas)],
        )
        assert cursor.fetchall() == []
        # Views and rules in one schema over another schema's tables.
        cursor.execute(
            """
            SELECT DISTINCT vn.nspname, v.relname, tn.nspname
            FROM pg_rewrite w
            JOIN pg_class v ON v.oid = w.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
            JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass
            JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE vn.nspname <> tn.nspname AND tn.nspname = ANY(%s)
            """,
            [list(tenant_schemas)],
        )
        assert cursor.fetchall() == []
        # Functions in a tenant schema are pinned to it or name what they use (public.…):
        # none uses another tenant's schema.
        cursor.execute(
            "SELECT n.nspname, p.proname, p.prosrc, p.proconfig FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)",
            [list(tenant_schemas)],
        )
        for schema, name, source, config in cursor.fetchall():
            others = tenant_schemas - {schema}
            assert not any(other in source or other in " ".join(config or []) for other in others), (schema, name)
