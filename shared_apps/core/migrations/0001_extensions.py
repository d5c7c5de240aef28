"""PostgreSQL extensions, created once in `public`.

Extensions are per database but their objects live in one schema. Created from a tenant
migration they would land in the first organisation's schema and be invisible to the
others; in `public` they are on every organisation's search_path."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;"
            "CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
