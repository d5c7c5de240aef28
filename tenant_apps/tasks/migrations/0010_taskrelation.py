"""Relations between tasks (issue 15 item 3): a new table in every schema (no rewrite of
an existing one), and two activity kinds (choices only: no SQL)."""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0009_task_state_required"), ("members", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="TaskRelation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("blocks", "Blocks"), ("duplicates", "Duplicates"), ("relates_to", "Relates to")],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="members.member",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="relations_out", to="tasks.task"
                    ),
                ),
                (
                    "target",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="relations_in", to="tasks.task"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["target", "kind"], name="tasks_relation_target_kind")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("source", models.F("target")), _negated=True),
                        name="tasks_relation_not_self",
                    ),
                    models.UniqueConstraint(
                        django.db.models.functions.comparison.Least("source", "target"),
                        django.db.models.functions.comparison.Greatest("source", "target"),
                        name="tasks_relation_pair_unique",
                    ),
                ],
            },
        ),
        migrations.AlterField(
            model_name="activity",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("changed", "Changed"),
                    ("moved", "Moved"),
                    ("commented", "Commented"),
                    ("comment_edited", "Comment edited"),
                    ("comment_deleted", "Comment deleted"),
                    ("attachment_added", "Attachment added"),
                    ("attachment_removed", "Attachment removed"),
                    ("relation_added", "Relation added"),
                    ("relation_removed", "Relation removed"),
                ],
                max_length=20,
            ),
        ),
    ]
