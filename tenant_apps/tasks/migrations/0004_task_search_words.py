"""The title-word dictionary for typo-tolerant search (`TaskSearchWord`), kept by
triggers on the task table, and filled from the titles already there.

Safe for many schemas: a new small table, two triggers and one INSERT ... SELECT per
schema. Creating the triggers takes a SHARE ROW EXCLUSIVE lock on tasks_task, held
until the migration commits, i.e. through the fill: task writes of that organisation
wait for it — milliseconds for most, seconds for one with a million tasks (reads go
on)."""

import django.contrib.postgres.indexes
from django.db import migrations, models

# `SET search_path FROM CURRENT` pins the function to the schema it is created in
# (django-tenants runs each schema's migrations with that schema first on the path), so
# a session whose search_path points elsewhere still writes this organisation's words.
# Words are inserted sorted so that two transactions adding the same new words wait for
# each other in the same order instead of deadlocking.
_FUNCTION = r"""
CREATE OR REPLACE FUNCTION tasks_searchword_add() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO tasks_tasksearchword (word)
    SELECT DISTINCT word
    FROM new_rows, regexp_split_to_table(lower(new_rows.title), '[^[:alnum:]]+') AS word
    WHERE length(word) >= 3
    ORDER BY word
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_task_searchword_insert AFTER INSERT ON tasks_task
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_searchword_add();
CREATE TRIGGER tasks_task_searchword_update AFTER UPDATE ON tasks_task
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_searchword_add();
INSERT INTO tasks_tasksearchword (word)
    SELECT DISTINCT word
    FROM tasks_task, regexp_split_to_table(lower(tasks_task.title), '[^[:alnum:]]+') AS word
    WHERE length(word) >= 3
    ON CONFLICT DO NOTHING;
"""
_REVERSE = """
DROP TRIGGER IF EXISTS tasks_task_searchword_update ON tasks_task;
DROP TRIGGER IF EXISTS tasks_task_searchword_insert ON tasks_task;
DROP FUNCTION IF EXISTS tasks_searchword_add();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0003_task_updated_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="TaskSearchWord",
            fields=[("word", models.TextField(primary_key=True, serialize=False))],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["word"], name="tasks_searchword_trgm", opclasses=["gin_trgm_ops"]
                    )
                ],
            },
        ),
        migrations.RunSQL(_FUNCTION, reverse_sql=_REVERSE),
    ]
