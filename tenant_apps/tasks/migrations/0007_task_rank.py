"""Board order. Safe for thousands of schemas: the column is added with a constant
default (no table rewrite on PostgreSQL 11+), existing tasks are ranked by their number
in one UPDATE per schema ('j' + ten digits, the same as ranks.rank_for_number), and the
index is built on a table a tenant holds alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0006_task_due_date_pending_work")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="rank",
            field=models.CharField(db_collation="C", default="", max_length=64),
        ),
        migrations.RunSQL(
            "UPDATE tasks_task SET rank = 'j' || lpad(number::text, 10, '0') WHERE rank = ''",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["project", "status", "rank"], name="tasks_task_board"),
        ),
    ]
