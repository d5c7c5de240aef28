"""A due date set, moved, or on a task reopened marks the organisation for the periodic
sweep (`public.tenants_pending_work_mark`, shared_apps/tenants/pending.py) in the same
transaction, so due-soon reminders need no scan of idle organisations. Marked "now":
the sweep then works out when the reminder is due, in the organisation's time zone.

Row-level and only for rows with a due date, so creating tasks without one costs
nothing; safe for many schemas (two triggers and a function per schema)."""

from django.db import migrations

_SQL = """
CREATE OR REPLACE FUNCTION tasks_due_date_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.tenants_pending_work_mark(TG_TABLE_SCHEMA::text, now());
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_task_due_date_insert AFTER INSERT ON tasks_task FOR EACH ROW
    WHEN (NEW.due_date IS NOT NULL) EXECUTE FUNCTION tasks_due_date_mark();
CREATE TRIGGER tasks_task_due_date_update AFTER UPDATE OF due_date, status ON tasks_task FOR EACH ROW
    WHEN (NEW.due_date IS NOT NULL AND (NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.status IS DISTINCT FROM OLD.status))
    EXECUTE FUNCTION tasks_due_date_mark();
"""
_REVERSE = """
DROP TRIGGER IF EXISTS tasks_task_due_date_update ON tasks_task;
DROP TRIGGER IF EXISTS tasks_task_due_date_insert ON tasks_task;
DROP FUNCTION IF EXISTS tasks_due_date_mark();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_pendingwork"),
        ("tasks", "0005_task_assignee_indexes"),
    ]

    operations = [migrations.RunSQL(_SQL, reverse_sql=_REVERSE)]
