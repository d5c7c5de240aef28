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


@pytest.mark.django_db
def test_the_list_export_applies_custom_field_filters_and_order_and_shows_the_values(world):
    from tenant_apps.reports.models import Report
    from tests.tenant_apps.reports.conftest import JSON

    with world.schema():
        owner = world.members["owner"]
        points = field_create(project=world.web, actor=owner, name="Points", kind="number")
        person = field_create(project=world.web, actor=owner, name="Reviewer", kind="person")
        for key, value in (("WEB-1", 5), ("WEB-2", 1), ("WEB-3", 3)):
            task_values_set(task=world.tasks[key], actor=owner, values={points: value})
        task_values_set(task=world.tasks["WEB-3"], actor=owner, values={person: world.members["dev"].pk})
    # As the list page sends it: the saved view's id beside the filters it merged in.
    filters = f"view=7&field_{points.pk}_min=2&ordering=-field_{points.pk}"
    _report, content = generate(world, "dev", "task_list", "csv", project="WEB", filters=filters)
    rows = csv_rows(content)
    assert rows[0][-1] == "Custom fields"
    expected = [("WEB-1", "Points: 5"), ("WEB-3", "Points: 3; Reviewer: Dev")]
    assert [(row[0], row[-1]) for row in rows[1:]] == expected
    # `me` in a person field is the requester, resolved when requested.
    mine, content = generate(world, "dev", "task_list", "csv", project="WEB", filters=f"field_{person.pk}=me")
    assert [row[0] for row in csv_rows(content)[1:]] == ["WEB-3"]
    assert mine.params["filters"] == f"field_{person.pk}={world.members['dev'].pk}"
    # Bad input: refused by name, nothing queued — a field without the project, an
    # unknown field, a value of the wrong type.
    with world.schema():
        before = Report.objects.count()
    for body, text in (
        ({"filters": f"field_{points.pk}=1"}, "need the project"),
        ({"project": "WEB", "filters": "field_999999=1"}, "field_999999"),
        ({"project": "WEB", "filters": f"field_{points.pk}=many"}, f"field_{points.pk}"),
        ({"project": "WEB", "filters": "ordering=field_999999"}, "ordering"),
    ):
        response = world.client("dev").post(
            "/api/v1/reports/", {"kind": "task_list", "format": "csv", **body}, content_type=JSON
        )
        assert response.status_code == 400, response.content
        assert text in str(response.json()["filters"])
    with world.schema():
        assert Report.objects.count() == before
