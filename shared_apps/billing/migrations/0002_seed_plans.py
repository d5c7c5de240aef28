"""Free, Team and Business. Staff edit them in the admin afterwards; the Stripe price ids
stay empty here so STRIPE_PRICE_TEAM / STRIPE_PRICE_BUSINESS apply (models.Plan.price_id).
Public schema only (a shared app): runs once, whatever the number of organisations."""

from django.db import migrations

GIB = 1024**3
PLANS = [
    # code, name, members, projects, storage bytes, reports per month, position
    ("free", "Free", 5, 3, GIB, 10, 0),
    ("team", "Team", 50, 50, 100 * GIB, 200, 1),
    ("business", "Business", None, None, 1024 * GIB, None, 2),
]


def plans_create(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for code, name, members, projects, storage, reports, position in PLANS:
        Plan.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "max_members": members,
                "max_projects": projects,
                "max_storage_bytes": storage,
                "max_reports_per_month": reports,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(plans_create, migrations.RunPython.noop)]
