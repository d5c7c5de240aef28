import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # Sub-tasks and estimates (issue 15, items 2 and 5). Nullable columns without a
    # default: adding them rewrites no table, in any number of schemas.
    dependencies = [("tasks", "0010_taskrelation")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="children",
                to="tasks.task",
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="estimate",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=7, null=True),
        ),
    ]
