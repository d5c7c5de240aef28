# The two report kinds of issue 15: time logged (time tracking) and the task list export.
# Choices only: no database change.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_reportschedule_recipients"),
    ]

    operations = [
        migrations.AlterField(
            model_name="report",
            name="kind",
            field=models.CharField(
                choices=[
                    ("completed_tasks", "Completed tasks"),
                    ("workload", "Workload"),
                    ("project_status", "Project status"),
                    ("time_logged", "Time logged"),
                    ("task_list", "Task list"),
                ],
                max_length=32,
            ),
        ),
    ]
