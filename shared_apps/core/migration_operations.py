"""Migration operations for tables that may be large in some organisations and empty in
others (docs/operations.md, "Migrations across many organisations").

An index on a big table must be built CONCURRENTLY, or the organisation's writes wait
for the whole build; but CONCURRENTLY cannot run inside a transaction, and a new schema
is created and migrated inside one (`spare_create`: the row and its schema commit
together). These operations build concurrently when the migration runs outside a
transaction (`migrate_tenants` on an existing schema, with the migration's
`atomic = False`) and plainly inside one (a new schema, whose tables are empty)."""

from django.db import migrations


class AddIndexConcurrentlyOutsideTransaction(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = not schema_editor.connection.in_atomic_block
            schema_editor.add_index(model, self.index, concurrently=concurrently)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = not schema_editor.connection.in_atomic_block
            schema_editor.remove_index(model, self.index, concurrently=concurrently)


class RunSQLConcurrentlyOutsideTransaction(migrations.RunSQL):
    """RunSQL whose statements say `{concurrently}` where CONCURRENTLY belongs."""

    def _run_sql(self, schema_editor, sqls):
        concurrently = "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY"
        super()._run_sql(schema_editor, sqls.replace("{concurrently}", concurrently))
