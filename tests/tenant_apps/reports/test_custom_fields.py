"""Custom fields in reports (issue 15 item 4): the completed-tasks report carries each
task's values of its project's fields, in every format."""

import json

import pytest

from tenant_apps.fields.services import field_create, task_values_set
from tests.tenant_apps.reports.conftest import PERIOD
from tests.tenant_apps.reports.test_generation import csv_rows, generate, xlsx_sheets


@pytest.mark.django_db
def test_completed_tasks_report_shows_custom_field_values(world):
    with world.schema():
        owner = world.members["owner"]
        severity = field_create(
            project=world.web, actor=owner, name="Severity", kind="select", options=[{"name": "High"}]
        )
        points = field_create(project=world.web, actor=owner, name="Points", kind="number")
        ships = field_create(project=world.web, actor=owner, name="Ships", kind="date")
        task_values_set(
            task=world.tasks["WEB-2"],
            actor=owner,
            values={severity: severity.options.get().pk, points: 3.5, ships: "2026-12-24"},
        )
    _report, content = generate(world, "owner", "completed_tasks", "csv", **PERIOD)
    rows = {row[0]: row for row in csv_rows(content)[1:]}
    assert rows["WEB-2"][-1] == "Severity: High; Points: 3.5; Ships: 2026-12-24"
    assert rows["OPS-1"][-1] == ""
    _report, content = generate(world, "owner", "completed_tasks", "json", **PERIOD)
    items = {item["task"]: item for item in json.loads(content)["rows"]}
    assert items["WEB-2"]["custom_fields"] == "Severity: High; Points: 3.5; Ships: 2026-12-24"
    _report, content = generate(world, "owner", "completed_tasks", "xlsx", **PERIOD)
    rows = [row for sheet in xlsx_sheets(content).values() for row in sheet]
    header = next((row for row in rows if "Cycle time (days)" in row), None)
    assert header is not None, rows[:5]
    assert header[header.index("Cycle time (days)") + 1] == "Custom fields"
    web2 = next(row for row in rows if row and row[0] == "WEB-2")
    assert web2[header.index("Custom fields")] == "Severity: High; Points: 3.5; Ships: 2026-12-24"
