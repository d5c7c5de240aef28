"""Migration operations for tables that may be large in some organisations and empty in
others (docs/operations.md, "Migrations across many organisations").

An index on a big table must be built CONCURRENTLY, or the organisation's writes wait
for the whole build; but CONCURRENTLY cannot run inside a transaction, and a new schema
is created and migrated inside one (`spare_create`: the row and its schema commit
together). And a concurrent build waits for every transaction older than it in the whole
database, other organisations' included: one long report anywhere holds up every
schema's build, thousands of them in a rollout.

So the index is built by the table's size, decided in each schema as the migration runs
(the migration's `atomic = False`):
- inside a transaction (a new schema, whose tables are empty): plainly;
- a table smaller than `TESSERA_PLAIN_INDEX_MAX_BYTES` (default 16 MiB, about 30,000
  tasks; docs/benchmarks.md): plainly, under the rollout's `lock_timeout`. Writers wait
  for the build, milliseconds on such a table, and for at most the lock timeout while
  it waits for its lock; on a timeout nothing is left behind and the rollout tries the
  schema again (the operation is `idempotent`);
- a larger table: CONCURRENTLY, with `lock_timeout` off. It never blocks the table's
  readers or writers while it waits (its lock, SHARE UPDATE EXCLUSIVE, conflicts only
  with other DDL and VACUUM), and a timeout in its later waits for older transactions
  would only leave an INVALID index behind.

Either is safe to run again: an INVALID index of the same name (a concurrent build that
failed or was cancelled) is dropped and built again, and a valid one left by an
interrupted run is kept."""

import contextlib

from django.conf import settings
from django.db import migrations

PLAIN_INDEX_MAX_BYTES = 16 * 1024 * 1024


def plain_index_max_bytes() -> int:
    return int(getattr(settings, "TESSERA_PLAIN_INDEX_MAX_BYTES", PLAIN_INDEX_MAX_BYTES))


def table_bytes(schema_editor, table: str) -> int:
    """The table's size on disk in the current schema (its heap, without indexes)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(to_regclass(quote_ident(%s)))", [table])
        return cursor.fetchone()[0] or 0


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
    """AddIndex built by the table's size (the module's docstring): plainly inside a
    transaction or on a small table, CONCURRENTLY on a large one."""

    # Safe to run again after a failure part-way (the rollout retries it on a lock timeout).
    idempotent = True

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
        name = schema_editor.quote_name(self.index.name)
        if table_bytes(schema_editor, model._meta.db_table) < plain_index_max_bytes():
            # Its own transaction (autocommit), under the caller's lock_timeout.
            if validity is False:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            schema_editor.add_index(model, self.index)
            return
        with lock_timeout_off(schema_editor):
            if validity is False:
                schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
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
