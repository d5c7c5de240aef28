"""Workflow states (issue 15): a project's columns, each in a fixed category. A new table
in every schema; nothing else changes here (0005 gives existing projects their states)."""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "0003_project_task_sequence")]

    operations = [
        migrations.CreateModel(
            name="WorkflowState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=40)),
                ("colour", models.CharField(default="#8c959f", max_length=7)),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("backlog", "Backlog"),
                            ("todo", "To do"),
                            ("in_progress", "In progress"),
                            ("done", "Done"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="states", to="projects.project"
                    ),
                ),
            ],
            options={
                "ordering": ["project_id", "position", "pk"],
                "indexes": [models.Index(fields=["project", "position"], name="projects_state_position")],
                "constraints": [
                    models.UniqueConstraint(
                        models.F("project"),
                        django.db.models.functions.text.Lower("name"),
                        name="projects_state_project_name_ci_unique",
                    )
                ],
            },
        ),
    ]
