"""Task.state (issue 15), step 1: a nullable column, then every task mapped onto its
project's default states (projects 0005) by its status, in one UPDATE per schema:
todo -> To do, in_progress -> In progress, in_review -> In review (its status becomes
in_progress, the state's category), done -> Done, cancelled -> Cancelled. 0009 makes the
column NOT NULL and indexes it. Adding a nullable column rewrites nothing; the UPDATE
rewrites each task row once (timing in docs/benchmarks.md, "Workflow states migration").

Backwards: the status goes back to what the state says (a state named "In review" in
category in progress -> in_review; backlog -> todo), then the column is dropped."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
UPDATE tasks_task t
SET state_id = s.id,
    status = CASE WHEN t.status = 'in_review' THEN 'in_progress' ELSE t.status END
FROM projects_workflowstate s
WHERE s.project_id = t.project_id
  AND t.state_id IS NULL
  AND s.position = CASE t.status
      WHEN 'todo' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'in_review' THEN 2
      WHEN 'done' THEN 3 WHEN 'cancelled' THEN 4 ELSE 0 END
"""

BACKWARD = """
UPDATE tasks_task t
SET status = CASE
    WHEN s.category = 'in_progress' AND s.name = 'In review' THEN 'in_review'
    WHEN s.category = 'backlog' THEN 'todo'
    ELSE s.category END
FROM projects_workflowstate s
WHERE s.id = t.state_id
"""


class Migration(migrations.Migration):
    dependencies = [("tasks", "0007_task_rank"), ("projects", "0005_default_states")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="state",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="tasks",
                to="projects.workflowstate",
            ),
        ),
        migrations.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]
