"""Give the built-in Project Manager and Developer roles the new code `time.log` (issue 15,
item 5). Written out here, not imported from the registry, so this migration means the
same thing forever. One UPDATE per schema: cheap across thousands of organisations."""

from django.db import migrations

ROLES = ["Project Manager", "Developer"]
CODE = "time.log"


def grant(apps, schema_editor):
    Role = apps.get_model("projects", "Role")
    for role in Role.objects.filter(is_builtin=True, name__in=ROLES):
        if CODE not in role.permissions:
            role.permissions = sorted([*role.permissions, CODE])
            role.save(update_fields=["permissions"])


def revoke(apps, schema_editor):
    Role = apps.get_model("projects", "Role")
    for role in Role.objects.filter(is_builtin=True, name__in=ROLES):
        if CODE in role.permissions:
            role.permissions = [code for code in role.permissions if code != CODE]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("projects", "0006_project_estimate_unit")]

    operations = [migrations.RunPython(grant, revoke)]
