"""Every existing project gets today's five states (the statuses the product had):
To do, In progress, In review (category in progress), Done, Cancelled, at positions
0-4. One INSERT ... SELECT per schema, whatever the number of projects; tasks are mapped
onto them by tasks 0008. Reversed by deleting the states (tasks 0008 reverses first)."""

from django.db import migrations

# The same as DEFAULT_STATES in projects/models.py (position, name, category, colour),
# frozen here as a migration must be.
FORWARD = """
INSERT INTO projects_workflowstate (project_id, name, colour, position, category, created_at)
SELECT p.id, s.name, s.colour, s.position, s.category, now()
FROM projects_project p
CROSS JOIN (VALUES
    (0, 'To do', 'todo', '#8c959f'),
    (1, 'In progress', 'in_progress', '#0969da'),
    (2, 'In review', 'in_progress', '#8250df'),
    (3, 'Done', 'done', '#1a7f37'),
    (4, 'Cancelled', 'cancelled', '#6e7781')
) AS s(position, name, category, colour)
WHERE NOT EXISTS (SELECT 1 FROM projects_workflowstate w WHERE w.project_id = p.id)
ORDER BY p.id, s.position
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0004_workflowstate")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql="DELETE FROM projects_workflowstate")]
