from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from shared_apps.tenants import migration_state
from shared_apps.tenants.migration_state import migrations_digest, schemas_behind
from shared_apps.tenants.models import SchemaMigrationState


def _execute(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.django_db
def test_a_schema_found_current_is_recorded_and_a_second_check_reads_no_schema(org_a, org_b):
    assert schemas_behind() == []
    assert set(SchemaMigrationState.objects.values_list("schema_name", flat=True)) >= {
        org_a.schema_name,
        org_b.schema_name,
    }

    with CaptureQueriesContext(connection) as queries:
        assert schemas_behind() == []
    # The organisations, then the records joined to the catalogue: no django_migrations read.
    assert len(queries) == 2, [query["sql"] for query in queries]
    assert not any('django_migrations"' in query["sql"] for query in queries)


@pytest.mark.django_db
def test_a_row_deleted_by_hand_after_the_record_makes_the_schema_behind(org_a, org_b):
    assert schemas_behind() == []
    table = f'"{org_b.schema_name}".django_migrations'
    _execute(f"DELETE FROM {table} WHERE app = %s AND name = %s", ["tasks", "0001_initial"])  # noqa: S608

    assert not SchemaMigrationState.objects.filter(schema_name=org_b.schema_name).exists()
    assert schemas_behind() == [org_b.schema_name]
    assert schemas_behind([org_a.schema_name]) == []


@pytest.mark.django_db
def test_an_interrupted_migration_leaves_the_record_and_a_partial_one_does_not(org_a, org_b):
    assert schemas_behind() == []
    table = f'"{org_b.schema_name}".django_migrations'

    # A rollout that dies before committing a schema's migrations changes nothing.
    def interrupted() -> None:
        with transaction.atomic():
            _execute(f"DELETE FROM {table} WHERE app = 'tasks'")  # noqa: S608
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted()
    assert schemas_behind() == []
    # One that committed only part of them (non-atomic migrations) is behind.
    _execute(f"DELETE FROM {table} WHERE app = 'tasks' AND name > '0002'")  # noqa: S608
    assert schemas_behind() == [org_b.schema_name]


@pytest.mark.django_db
def test_a_migration_added_on_disk_is_not_hidden_by_the_record(org_a, org_b, monkeypatch):
    assert schemas_behind() == []
    on_disk = migration_state.tenant_migrations_on_disk()
    monkeypatch.setattr(migration_state, "tenant_migrations_on_disk", lambda: {*on_disk, ("tasks", "9999_new")})
    monkeypatch.setattr(migration_state, "migrations_digest", lambda: "another digest")

    assert schemas_behind() == [org_a.schema_name, org_b.schema_name]


def test_the_digest_changes_with_a_migration_file_added_or_edited(tmp_path, monkeypatch):
    package = tmp_path / "digest_probe_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_initial.py").write_text("# one\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(MIGRATION_MODULES={"tasks": "digest_probe_migrations"}):
        first = migrations_digest()
        (package / "0002_more.py").write_text("# two\n")
        added = migrations_digest()
        (package / "0001_initial.py").write_text("# one, edited\n")
        edited = migrations_digest()
    assert len({first, added, edited, migrations_digest()}) == 4


@pytest.mark.django_db
def test_a_record_without_its_trigger_or_table_is_not_trusted(org_a, org_b):
    assert schemas_behind() == []
    _execute(f'DROP TRIGGER tenants_migration_state ON "{org_a.schema_name}".django_migrations')
    _execute(f'DELETE FROM "{org_a.schema_name}".django_migrations WHERE app = %s', ["tasks"])  # noqa: S608
    # The record was left (no trigger fired), but it is not taken for current.
    assert SchemaMigrationState.objects.filter(schema_name=org_a.schema_name).exists()
    assert schemas_behind() == [org_a.schema_name]


@pytest.mark.django_db
def test_verify_reads_every_schema_despite_a_record(org_a, org_b):
    assert schemas_behind() == []
    with CaptureQueriesContext(connection) as queries:
        assert schemas_behind(verify=True) == []
    assert any('django_migrations"' in query["sql"] for query in queries)
    out = StringIO()
    call_command("migrate_tenants", "--verify", stdout=out)
    assert "0 schema(s) migrated" in out.getvalue()
