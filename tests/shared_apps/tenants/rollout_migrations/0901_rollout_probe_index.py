from django.db import migrations, models

from shared_apps.core.migration_operations import AddIndexConcurrentlyOutsideTransaction


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tasks", "0900_rollout_probe_column")]

    operations = [
        AddIndexConcurrentlyOutsideTransaction(
            model_name="task",
            index=models.Index(fields=["project", "rollout_probe"], name="tasks_task_rollout_probe"),
        ),
    ]
