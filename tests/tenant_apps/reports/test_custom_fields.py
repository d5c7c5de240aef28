"""Custom fields in reports and exports (issue 15 item 4): the completed-tasks report and
the task-list export carry one column per custom field of the exported projects, typed
(numbers as numbers, dates as dates), in CSV, XLSX and JSON, in the requester's
language; the export applies the list's custom-field filters."""

import json
from datetime import datetime

import pytest

from shared_apps.accounts.models import User
from tenant_apps.fields.services import field_create, task_values_set
from tenant_apps.reports.models import Report
from tests.tenant_apps.reports.conftest import JSON, PERIOD
from tests.tenant_apps.reports.test_generation import csv_rows, generate, xlsx_sheets

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields(world):
    """WEB: Severity (select), Points (number), Ships (date), Reviewed (checkbox);
    OPS: a Severity of its own (merged into the same column) and Owner (person)."""
    with world.schema():
        owner = world.members["owner"]
        severity = field_create(
            project=world.web, actor=owner, name="Severity", kind="select", options=[{"name": "High"}]
        )
        points = field_create(project=world.web, actor=owner, name="Points", kind="number")
        ships = field_create(project=world.web, actor=owner, name="Ships", kind="date")
        reviewed = field_create(project=world.web, actor=owner, name="Reviewed", kind="checkbox")
        ops_severity = field_create(
            project=world.ops, actor=owner, name="severity", kind="select", options=[{"name": "Low"}]
        )
        person = field_create(project=world.ops, actor=owner, name="Owner", kind="person")
        task_values_set(
            task=world.tasks["WEB-2"],
            actor=owner,
            values={severity: severity.options.get().pk, points: 3.5, ships: "2026-12-24", reviewed: True},
        )
        task_values_set(
            task=world.tasks["OPS-1"],
            actor=owner,
            # The person: the guest, a Reporter in OPS (a person field takes whom OPS may assign).
            values={ops_severity: ops_severity.options.get().pk, person: world.members["guest"].pk},
        )
    return {"severity": severity, "points": points, "ships": ships}


# Projects in key order (OPS, WEB), each project's fields in its order; OPS's
# "severity" and WEB's "Severity" are one column.
HEADER_EN = ["severity", "Owner", "Points", "Ships", "Reviewed"]


def test_completed_tasks_have_a_typed_column_per_field_in_every_format(world, fields):
    _report, content = generate(world, "owner", "completed_tasks", "csv", **PERIOD)
    rows = csv_rows(content)
    assert rows[0][-5:] == HEADER_EN
    by_task = {row[0]: row[-5:] for row in rows[1:]}
    assert by_task["WEB-2"] == ["High", "", "3.5", "2026-12-24", "Yes"]
    # OPS's own "severity" shares the column; its person field names the member.
    assert by_task["OPS-1"] == ["Low", "Guest", "", "", ""]
    assert by_task["WEB-3"] == ["", "", "", "", ""]

    _report, content = generate(world, "owner", "completed_tasks", "json", **PERIOD)
    document = json.loads(content)
    columns = {column["label"]: column for column in document["columns"]}
    assert (columns["Points"]["type"], columns["Ships"]["type"]) == ("float", "date")
    web2 = next(row for row in document["rows"] if row["task"] == "WEB-2")
    assert web2[columns["Points"]["key"]] == 3.5
    assert web2[columns["Ships"]["key"]] == "2026-12-24"
    assert web2[columns["severity"]["key"]] == "High"
    assert columns["Points"]["key"] == f"field_{fields['points'].pk}"

    _report, content = generate(world, "owner", "completed_tasks", "xlsx", **PERIOD)
    sheet = xlsx_sheets(content)["Rows"]
    assert list(sheet[0][-5:]) == HEADER_EN
    web2 = next(row for row in sheet if row[0] == "WEB-2")
    assert web2[-5:] == ("High", None, 3.5, datetime(2026, 12, 24), "Yes")  # noqa: DTZ001 (number, date cells)


def test_one_projects_report_has_only_that_projects_fields(world, fields):
    _report, content = generate(world, "owner", "completed_tasks", "csv", project="OPS", **PERIOD)
    rows = csv_rows(content)
    assert rows[0][-2:] == ["severity", "Owner"]
    assert "Points" not in rows[0]
    assert [row[-2:] for row in rows[1:]] == [["Low", "Guest"]]


def test_task_list_export_has_the_field_columns_and_applies_field_filters(world, fields):
    points = fields["points"]
    _report, content = generate(
        world, "dev", "task_list", "csv", project="WEB", filters=f"field_{points.pk}_min=3&ordering=number"
    )
    rows = csv_rows(content)
    assert rows[0][-4:] == ["Severity", "Points", "Ships", "Reviewed"]
    assert [row[0] for row in rows[1:]] == ["WEB-2"]
    assert rows[1][-4:] == ["High", "3.5", "2026-12-24", "Yes"]
    _report, content = generate(world, "dev", "task_list", "xlsx", project="WEB", filters=f"ordering=field_{points.pk}")
    sheet = xlsx_sheets(content)["Rows"]
    assert sheet[1][0] == "WEB-2"  # the one with points first (tasks without a value last)
    assert sheet[1][-3] == 3.5
    _report, content = generate(world, "dev", "task_list", "json", project="WEB")
    rows = json.loads(content)["rows"]
    assert {row["task"]: row[f"field_{points.pk}"] for row in rows}["WEB-2"] == 3.5


def test_reports_speak_the_requesters_language(world, fields):
    User.objects.filter(pk=world.users["owner"].pk).update(language="ru")
    _report, content = generate(world, "owner", "task_list", "csv", project="WEB", filters="ordering=number")
    rows = csv_rows(content)
    assert rows[0][:6] == ["Задача", "Название", "Проект", "Статус", "Приоритет", "Исполнители"]
    assert rows[0][-4:] == ["Severity", "Points", "Ships", "Reviewed"]  # field names as their project named them
    web2 = next(row for row in rows if row[0] == "WEB-2")
    assert (web2[3], web2[4], web2[-1]) == ("Готово", "Нет", "Да")
    _report, content = generate(world, "owner", "completed_tasks", "xlsx", **PERIOD)
    sheets = xlsx_sheets(content)
    assert sheets["Rows"][0][0] == "Задача"
    assert sheets["Rows"][0][8] == "Время выполнения (дни)"
    assert ("Выполненные задачи", 3) in [row[:2] for row in sheets["Summary"]]
    _report, content = generate(world, "owner", "completed_tasks", "json", **PERIOD)
    document = json.loads(content)
    assert document["columns"][5]["label"] == "Приоритет"
    assert {row["priority"] for row in document["rows"]} == {"Нет"}


def test_field_filters_are_refused_without_a_project_or_when_unknown(world, fields):
    client = world.client("dev")
    points = fields["points"]
    for params in (
        {"filters": f"field_{points.pk}=3"},  # no project: fields belong to one
        {"project": "WEB", "filters": "field_999999=3"},
        {"project": "WEB", "filters": f"field_{points.pk}=lots"},
    ):
        response = client.post("/api/v1/reports/", {"kind": "task_list", "format": "csv", **params}, content_type=JSON)
        assert response.status_code == 400, (params, response.content)
        assert "filters" in response.json()
    with world.schema():
        assert not Report.objects.exists()


def test_an_export_whose_filtered_field_was_deleted_fails_readably(world, fields):
    from tenant_apps.reports.services.generation import report_generate
    from tenant_apps.reports.services.requests import report_request

    with world.schema():
        report, _created = report_request(
            actor=world.members["dev"],
            kind="task_list",
            format="csv",
            params={"project": "WEB", "filters": f"field_{fields['points'].pk}_min=1"},
            time_zone="Europe/Berlin",
        )
        fields["points"].delete()
        assert report_generate(report_id=report.pk) == "failed"
        report.refresh_from_db()
    assert report.failure_reason == "A custom field this export filters on was deleted."


def test_field_columns_cost_no_statement_per_row(world, fields):
    """The columns are subqueries of the one row statement: the number of statements
    does not grow with the rows (JSON, the format read in Python)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenant_apps.tasks.services import task_create

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            generate(world, "owner", "task_list", "json", project="WEB")
        return len(queries)

    before = statements()
    with world.schema():
        for index in range(5):
            task_create(project=world.web, actor=world.members["owner"], title=f"More {index}")
    assert statements() == before
