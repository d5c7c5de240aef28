"""The row django-tenants needs for the public schema (the platform itself)."""

from django.db import migrations


def create_public_organization(apps, schema_editor):
    Organization = apps.get_model("tenants", "Organization")
    if not Organization.objects.filter(schema_name="public").exists():
        # bulk_create skips TenantMixin.save(): the public schema exists already.
        Organization.objects.bulk_create(
            [Organization(schema_name="public", name="Tessera platform", slug="public", status="active")]
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(create_public_organization, migrations.RunPython.noop)]
