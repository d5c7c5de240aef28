from django.db import migrations, models


class Migration(migrations.Migration):
    # Rolled-up time (issue 15, item 5). A constant default: PostgreSQL adds the columns
    # without rewriting the table, in any number of schemas. No time is logged before this
    # release (timetracking 0001 is new), so 0 is every task's true total.
    dependencies = [("tasks", "0011_task_parent_estimate")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="time_spent_minutes",
            field=models.PositiveIntegerField(default=0, db_default=0),
        ),
        migrations.AddField(
            model_name="task",
            name="time_total_minutes",
            field=models.PositiveBigIntegerField(default=0, db_default=0),
        ),
    ]
