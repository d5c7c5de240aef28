"""Expand step of the bench migration: a nullable column, no default (a catalogue change,
no table rewrite). Atomic: its brief ACCESS EXCLUSIVE lock is taken under the rollout's
lock_timeout and retried."""

from django.db import migrations, models

from bench.migrate_many_migrations import latest_real


class Migration(migrations.Migration):
    dependencies = [("tasks", latest_real())]

    operations = [
        migrations.AddField(model_name="task", name="archived_at", field=models.DateTimeField(null=True, blank=True)),
    ]
