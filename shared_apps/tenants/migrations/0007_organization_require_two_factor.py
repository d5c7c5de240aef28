# Adding a boolean with a constant default is a catalogue-only change in PostgreSQL 11+
# (no table rewrite); the organisations table is in public, so this runs once.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_pendingwork"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="require_two_factor",
            field=models.BooleanField(default=False),
        ),
    ]
