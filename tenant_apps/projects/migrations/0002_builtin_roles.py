"""Seed the built-in project roles in every organisation's schema. The code sets are
written out here (not imported) so this migration means the same thing forever."""

from django.db import migrations

BUILTIN_ROLES = {
    "Project Manager": [
        "attachment.upload", "comment.create", "comment.moderate", "project.manage", "project.view",
        "report.create", "task.assign", "task.change_status", "task.create", "task.delete", "task.edit",
    ],
    "Developer": [
        "project.view", "task.create", "task.edit", "task.assign", "task.change_status",
        "comment.create", "attachment.upload", "report.create",
    ],
    "Reporter": ["project.view", "task.create", "comment.create", "attachment.upload", "report.create"],
    "Viewer": ["project.view"],
}  # fmt: skip


def seed(apps, schema_editor):
    Role = apps.get_model("projects", "Role")
    for name, codes in BUILTIN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"permissions": codes, "is_builtin": True})


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
