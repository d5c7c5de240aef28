from django.db import migrations, models


class Migration(migrations.Migration):
    # Choices only (issue 15, item 5: the time_logged kind): no SQL in any schema.
    dependencies = [("reports", "0002_monthlyusage")]

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
                ],
                max_length=32,
            ),
        ),
    ]
