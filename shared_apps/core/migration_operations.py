"""Migration operations for tables that may be large in some organisations and empty in
others (docs/operations.md, "Migrations across many organisations").

An index on a big table must be built CONCURRENTLY, or the organisation's writes wait
for the whole build; but CONCURRENTLY cannot run inside a transaction, and a new schema
is created and migrated inside one (`spare_create`: the row and its schema commit
together). These operations build concurrently when the migration runs outside a
transaction (`migrate_tenants` on an existing schema, with the migration's
`atomic = False`) and plainly inside one (a new schema, whose tables are empty).

A concurrent build runs with `lock_timeout` off: it never blocks the table's readers or
writers while it waits (its lock, SHARE UPDATE EXCLUSIVE, conflicts only with other DDL
and VACUUM), and a timeout in its later waits for older transactions would only leave an
INVALID index behind. It is also safe to run again: an INVALID index of the same name
(a build that failed or was cancelled) is dropped CONCURRENTLY and built again, and a
valid one left by an interrupted run is kept."""

import contextlib

from django.db import migrations


@contextlib.contextmanager
def lock_timeout_off(schema_editor):
    """No lock_timeout for the statements inside (a concurrent build), then the caller's."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute("SET lock_timeout = 0")
    try:
        yield
    finally:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [previous])


def index_validity(schema_editor, name: str) -> bool | None:
    """True/False for a valid/INVALID index `name` in the current schema, None if absent."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace",
            [name],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


class AddIndexConcurrentlyOutsideTransaction(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.in_atomic_block:
            schema_editor.add_index(model, self.index)
            return
        validity = index_validity(schema_editor, self.index.name)
        if validity:
            return  # built by an earlier run that stopped before recording the migration
        with lock_timeout_off(schema_editor):
            if validity is False:
                schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = not schema_editor.connection.in_atomic_block
            schema_editor.remove_index(model, self.index, concurrently=concurrently)


class RunSQLConcurrentlyOutsideTransaction(migrations.RunSQL):
    """RunSQL whose statements say `{concurrently}` where CONCURRENTLY belongs."""

    def _run_sql(self, schema_editor, sqls):
        if schema_editor.connection.in_atomic_block:
            super()._run_sql(schema_editor, sqls.replace("{concurrently}", ""))
            return
        with lock_timeout_off(schema_editor):
            super()._run_sql(schema_editor, sqls.replace("{concurrently}", "CONCURRENTLY"))
