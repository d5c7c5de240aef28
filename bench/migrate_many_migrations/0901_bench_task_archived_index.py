"""The bench column's index: not atomic, so on existing schemas it builds CONCURRENTLY
(writers keep going during the build of a 200k-task table)."""

from django.db import migrations, models

from shared_apps.core.migration_operations import AddIndexConcurrentlyOutsideTransaction


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tasks", "0900_bench_task_archived_at")]

    operations = [
        AddIndexConcurrentlyOutsideTransaction(
            model_name="task",
            index=models.Index(fields=["project", "archived_at"], name="tasks_task_bench_archived"),
        ),
    ]
