from django.db import migrations, models

from tests.shared_apps.tenants import rollout_failures, rollout_migrations


def fail_where_asked(apps, schema_editor):
    if schema_editor.connection.schema_name in rollout_failures.FAIL_IN:
        raise RuntimeError(f"injected failure in {schema_editor.connection.schema_name}")


class Migration(migrations.Migration):
    dependencies = [("tasks", rollout_migrations.latest_real())]

    # The failure first: Python work after the ALTER TABLE (even the next operation's
    # state rendering) would run while its ACCESS EXCLUSIVE lock is held.
    operations = [
        migrations.RunPython(fail_where_asked, migrations.RunPython.noop),
        migrations.AddField(model_name="task", name="rollout_probe", field=models.DateTimeField(null=True)),
    ]
