"""PendingWork (public): which organisations have periodic work coming, and
`tenants_pending_work_mark`, the one SQL function that records it — called by
`shared_apps.tenants.pending.pending_work_mark` and by the due-date trigger on every
organisation's task table (tenant_apps/tasks/migrations/0006)."""

from django.db import migrations, models

# The shared advisory lock pairs with the exclusive one `pending_work_settle` takes
# before it deletes a row: a sweep deciding "nothing left here" waits for every writer
# of that organisation still in flight, so it sees their work (docs/scaling.md).
# Writers never wait for each other: the row is only locked (upserted) when it must be
# created or moved earlier, not on every event.
MARK_FUNCTION = """
CREATE OR REPLACE FUNCTION public.tenants_pending_work_mark(schema text, due timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(16016, hashtext(schema));
    IF NOT EXISTS (SELECT 1 FROM public.tenants_pendingwork WHERE schema_name = schema AND due_at <= due) THEN
        INSERT INTO public.tenants_pendingwork (schema_name, due_at) VALUES (schema, due)
        ON CONFLICT (schema_name) DO UPDATE SET due_at = LEAST(public.tenants_pendingwork.due_at, EXCLUDED.due_at);
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0005_organization_language"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingWork",
            fields=[
                ("schema_name", models.CharField(max_length=63, primary_key=True, serialize=False)),
                ("due_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.RunSQL(
            MARK_FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS public.tenants_pending_work_mark(text, timestamptz);"
        ),
    ]
