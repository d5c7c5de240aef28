# Two nullable / constant-default columns: metadata-only in PostgreSQL (no table rewrite),
# cheap across thousands of schemas.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskimport",
            name="progressed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="taskimport",
            name="attempts",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
    ]
