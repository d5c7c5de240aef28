# A public table plus the trigger function each recorded schema's django_migrations
# calls: any insert, update, delete or truncate there forgets that schema's record in the
# same transaction (shared_apps/tenants/migration_state.py).
from django.db import migrations, models

FORGET = """
CREATE OR REPLACE FUNCTION public.tenants_migration_state_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public.tenants_schemamigrationstate WHERE schema_name = TG_TABLE_SCHEMA;
    RETURN NULL;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0007_organization_require_two_factor"),
    ]

    operations = [
        migrations.CreateModel(
            name="SchemaMigrationState",
            fields=[
                ("schema_name", models.CharField(max_length=63, primary_key=True, serialize=False)),
                ("digest", models.CharField(max_length=64)),
                ("table_oid", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(FORGET, "DROP FUNCTION IF EXISTS public.tenants_migration_state_forget() CASCADE"),
    ]
