"""Task.state (issue 15), step 2: NOT NULL (0008 gave every task a state), `in_review`
leaves the status choices (a task in review keeps its state "In review", status
in_progress), and the board's index follows its columns: (state, rank) replaces
(project, status, rank) and also serves the foreign key."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0008_task_state")]

    operations = [
        migrations.AlterField(
            model_name="task",
            name="state",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="tasks",
                to="projects.workflowstate",
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="status",
            field=models.CharField(
                choices=[
                    ("backlog", "Backlog"),
                    ("todo", "To do"),
                    ("in_progress", "In progress"),
                    ("done", "Done"),
                    ("cancelled", "Cancelled"),
                ],
                default="todo",
                max_length=16,
            ),
        ),
        migrations.RemoveIndex(model_name="task", name="tasks_task_board"),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["state", "rank"], name="tasks_task_board_state"),
        ),
    ]
