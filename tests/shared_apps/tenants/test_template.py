"""New schemas are copies of the migrated template schema (shared_apps/tenants/template.py):
a copy must equal a migrated schema object by object and row by row, point only at
itself, and never be made from a template that is not at the migrations on disk."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context
from psycopg2 import sql

from shared_apps.accounts.models import User
from shared_apps.tenants import template as template_module
from shared_apps.tenants.migration_state import schemas_behind
from shared_apps.tenants.models import Organization, PendingWork
from shared_apps.tenants.services import organization_create
from shared_apps.tenants.spares import spare_create
from shared_apps.tenants.template import template_clone, template_refresh, template_schema_name, template_state
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_create
from tenant_apps.tasks.models import TaskSearchWord
from tenant_apps.tasks.services import task_create

pytestmark = pytest.mark.django_db

MIGRATED = "org_tmigrated01"
CLONED = "org_tcloned0001"

# Everything a schema holds, as catalogue queries over one namespace (%(nsp)s, an oid).
# Every text is later stripped of the schema's own name, so a reference to any other
# schema (the template's) shows up as a difference.
_CATALOGUE = {
    "relations": (
        "SELECT relname, relkind, relpersistence, reloptions::text, relowner::regrole::text, relacl::text, "
        "relreplident, relrowsecurity, relispartition FROM pg_class WHERE relnamespace = %(nsp)s AND relkind <> 't'"
    ),
    "columns": (
        "SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname, "
        "format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, "
        "a.attgenerated, a.attcollation::regcollation::text, a.attstattarget, a.attstorage, a.attcompression, "
        "a.attacl::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE c.relnamespace = %(nsp)s AND c.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped"
    ),
    "constraints": (
        "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred, "
        "k.convalidated, k.connoinherit FROM pg_constraint k LEFT JOIN pg_class c ON c.oid = k.conrelid "
        "WHERE k.connamespace = %(nsp)s"
    ),
    "indexes": (
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisclustered, i.indisreplident "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(nsp)s"
    ),
    "triggers": (
        "SELECT pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = %(nsp)s AND NOT t.tgisinternal"
    ),
    "internal triggers (foreign keys)": (
        "SELECT c.relname, t.tgfoid::regproc::text, t.tgtype, t.tgenabled, k.conname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_constraint k ON k.oid = t.tgconstraint "
        "WHERE c.relnamespace = %(nsp)s AND t.tgisinternal"
    ),
    "functions": (
        "SELECT pg_get_functiondef(p.oid), p.proowner::regrole::text, p.proacl::text "
        "FROM pg_proc p WHERE p.pronamespace = %(nsp)s"
    ),
    "sequences": (
        "SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, "
        "s.seqcycle, d.deptype, d.refobjid::regclass::text, d.refobjsubid FROM pg_class c "
        "JOIN pg_sequence s ON s.seqrelid = c.oid LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "WHERE c.relnamespace = %(nsp)s"
    ),
    "types": "SELECT typname, typtype, typcategory FROM pg_type WHERE typnamespace = %(nsp)s",
    "rules and policies": (
        "SELECT r.rulename, pg_get_ruledef(r.oid) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class "
        "WHERE c.relnamespace = %(nsp)s UNION ALL SELECT p.polname, pg_get_expr(p.polqual, p.polrelid) "
        "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = %(nsp)s"
    ),
    "comments": (
        "SELECT d.classoid::regclass::text, c.relname, d.objsubid, d.description FROM pg_description d "
        "LEFT JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass "
        "WHERE c.relnamespace = %(nsp)s OR d.objoid = %(nsp)s"
    ),
    "statistics objects": "SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = %(nsp)s",
}


def _catalogue(schema: str) -> dict[str, object]:
    """The schema's objects, sequence values and rows, with its own name replaced."""

    def strip(value):
        return value.replace(schema, "<schema>") if isinstance(value, str) else value

    snapshot = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        nsp = cursor.fetchone()[0]
        for what, query in _CATALOGUE.items():
            cursor.execute(query, {"nsp": nsp})
            snapshot[what] = sorted(tuple(strip(value) for value in row) for row in cursor.fetchall())
        cursor.execute("SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = 'S' ORDER BY relname", [nsp])
        for (sequence,) in cursor.fetchall():
            cursor.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(schema, sequence)))
            snapshot[f"sequence value {sequence}"] = cursor.fetchone()
        # Every row of every table; timestamps taken when a migration ran (django_migrations'
        # `applied`, seeded rows' creation times) are when the template was migrated.
        cursor.execute(
            "SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FILTER (WHERE a.atttypid NOT IN "
            "('timestamptz'::regtype, 'timestamp'::regtype)) FROM pg_class c JOIN pg_attribute a "
            "ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE c.relnamespace = %s AND c.relkind = 'r' GROUP BY c.relname ORDER BY c.relname",
            [nsp],
        )
        for table, columns in cursor.fetchall():
            cursor.execute(
                sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(sql.Identifier(column) for column in columns), sql.Identifier(schema, table)
                )
            )
            snapshot[f"rows {table}"] = sorted(tuple(str(value) for value in row) for row in cursor.fetchall())
    return snapshot


@pytest.fixture(autouse=True)
def _fresh_plans():
    """Plans are kept per migration state; tests change the template behind migrations'
    back (and roll it back), so none outlives its test."""
    template_module._plan_cache.clear()
    yield
    template_module._plan_cache.clear()


def _differences(left: dict, right: dict) -> dict:
    return {key: (left.get(key), right.get(key)) for key in set(left) | set(right) if left.get(key) != right.get(key)}


@pytest.fixture(scope="module")
def migrated_catalogue(django_db_setup, django_db_blocker):
    """A schema migrated the way django-tenants does it, read once for the module and
    dropped again."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(MIGRATED)))
        try:
            call_command("migrate_schemas", tenant=True, schema_name=MIGRATED, interactive=False, verbosity=0)
            connection.set_schema_to_public()
            yield _catalogue(MIGRATED)
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(MIGRATED)))


def _cloned() -> dict:
    assert template_clone(CLONED) is True
    return _catalogue(CLONED)


def test_a_clone_equals_a_migrated_schema(migrated_catalogue):
    assert template_state() == "current"
    cloned = _cloned()
    assert _differences(migrated_catalogue, cloned) == {}
    # The comparison covers what matters here: seeded rows, triggers and functions are in it.
    assert migrated_catalogue["rows projects_role"]
    assert len(migrated_catalogue["triggers"]) >= 4
    assert migrated_catalogue["functions"]
    assert migrated_catalogue["rows django_migrations"]


@pytest.mark.parametrize(
    "damage",
    [
        "DROP TRIGGER tasks_task_due_date_insert ON {schema}.tasks_task",
        "DELETE FROM {schema}.projects_role WHERE id = (SELECT min(id) FROM {schema}.projects_role)",
        "DROP INDEX {schema}.tasks_task_title_trgm",
        "ALTER TABLE {schema}.tasks_task ALTER COLUMN title DROP NOT NULL",
        "SELECT nextval('{schema}.projects_role_id_seq')",
        "ALTER FUNCTION {schema}.tasks_searchword_add() SET search_path = public",
        "ALTER TABLE {schema}.tasks_task ALTER COLUMN time_spent_minutes SET DEFAULT 1",
    ],
)
def test_the_comparison_fails_when_the_clone_misses_something(migrated_catalogue, damage):
    cloned = _cloned()
    assert _differences(migrated_catalogue, cloned) == {}
    with connection.cursor() as cursor:
        cursor.execute(damage.format(schema=CLONED))
    assert _differences(migrated_catalogue, _catalogue(CLONED)) != {}


def test_a_clone_writes_only_to_its_own_schema():
    template = template_schema_name()
    before = _catalogue(template)
    spare = spare_create()
    assert spare.schema_name != template
    owner = User.objects.create_user(email="clone-owner@example.test", password="pw")
    organization = organization_create(slug="clone-check", name="Clone check", owner=owner)
    assert organization.pk == spare.pk  # sign-up claimed the cloned spare
    with schema_context(organization.schema_name):
        actor = Member.objects.get(user_id=owner.pk)
        project = project_create(key="CLO", name="Clone", actor=actor)
        task = task_create(project=project, actor=actor, title="Tenant isolation check", due_date=date(2030, 1, 1))
        assert task.pk == 1  # the clone's own sequence, as in a new migrated schema
        assert TaskSearchWord.objects.filter(word="isolation").exists()  # its trigger wrote into it
    connection.set_schema_to_public()
    assert PendingWork.objects.filter(schema_name=organization.schema_name).exists()  # the due-date trigger
    assert _differences(before, _catalogue(template)) == {}


def test_a_template_behind_the_migrations_on_disk_is_not_cloned():
    template = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE id = (SELECT max(id) FROM {} WHERE app = 'tasks')").format(
                sql.Identifier(template, "django_migrations"), sql.Identifier(template, "django_migrations")
            )
        )
    assert template_state() == "behind"
    assert template_clone(CLONED) is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s)", [CLONED])
        assert cursor.fetchone()[0] is None


def test_a_template_ahead_of_the_code_is_left_alone_and_not_cloned():
    template = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} (app, name, applied) VALUES ('tasks', '9999_from_newer_code', now())").format(
                sql.Identifier(template, "django_migrations")
            )
        )
    assert template_refresh() == "ahead"
    assert template_state() == "ahead"
    assert template_clone(CLONED) is False


def test_a_template_holding_what_the_clone_does_not_copy_is_not_cloned():
    template = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE VIEW {} AS SELECT 1 AS one").format(sql.Identifier(template, "tasks_someview")))
    assert template_clone(CLONED) is False


def test_spares_and_organisations_are_cloned_when_the_template_is_current(monkeypatch):
    def no_migrating(*args, **kwargs):
        raise AssertionError("migrated instead of cloned")

    monkeypatch.setattr("django_tenants.models.call_command", no_migrating)
    spare = spare_create()
    assert Organization.objects.get(pk=spare.pk).status == Organization.Status.SPARE
    with schema_context(spare.schema_name):
        assert Role.objects.filter(is_builtin=True).count() == 4


def test_a_spare_is_migrated_when_the_template_is_behind():
    template = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(template)))
    assert template_state() == "missing"
    spare = spare_create()
    connection.set_schema_to_public()
    assert schemas_behind([spare.schema_name]) == []


@override_settings(TENANT_TEMPLATE_SCHEMA="tessera_template_new")
def test_migrate_tenants_builds_a_missing_template():
    assert template_state() == "missing"
    out = StringIO()
    call_command("migrate_tenants", stdout=out)
    assert template_state() == "current"
    assert "template schema was missing" in out.getvalue()
    assert template_clone(CLONED) is True
    out = StringIO()
    call_command("migrate_tenants", stdout=out)
    assert "template schema was current" in out.getvalue()
