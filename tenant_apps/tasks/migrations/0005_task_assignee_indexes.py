"""Indexes for one person's tasks in one project (issue 16, item 6): a project's list in
its default order walks (project, updated_at, id) backwards and stops at its LIMIT, and
the assignee filter reads the person's task ids from (member_id, task_id) alone, without
visiting the link table's rows.

Not atomic, so that on existing schemas the indexes build CONCURRENTLY and an
organisation with a million tasks keeps writing meanwhile; a new schema (migrated
inside sign-up's transaction) builds them plainly on empty tables
(shared_apps/core/migration_operations.py). A failed concurrent build leaves an INVALID
index behind: drop it and run the migration again (docs/operations.md)."""

from django.db import migrations, models

from shared_apps.core.migration_operations import (
    AddIndexConcurrentlyOutsideTransaction,
    RunSQLConcurrentlyOutsideTransaction,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0004_task_search_words"),
    ]

    operations = [
        AddIndexConcurrentlyOutsideTransaction(
            model_name="task",
            index=models.Index(fields=["project", "updated_at", "id"], name="tasks_task_project_updated_id"),
        ),
        # Django creates the through table of Task.assignees itself, so this index is
        # not part of the model state.
        RunSQLConcurrentlyOutsideTransaction(
            "CREATE INDEX {concurrently} IF NOT EXISTS tasks_task_assignees_member_task"
            " ON tasks_task_assignees (member_id, task_id);",
            reverse_sql="DROP INDEX {concurrently} IF EXISTS tasks_task_assignees_member_task;",
        ),
    ]
