"""Report contents with known data (see conftest.py): periods, time zones, scope,
summaries, and every format parsed back."""

import csv
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenant_apps.reports.models import Report
from tenant_apps.reports.services.generation import report_generate
from tenant_apps.reports.services.requests import report_request
from tenant_apps.reports.writers import XLSX_MAX_ROWS
from tenant_apps.tasks.attachments import storage
from tests.tenant_apps.reports.conftest import PERIOD

BERLIN = ZoneInfo("Europe/Berlin")


def generate(world, who: str, kind: str, format: str, **params) -> tuple[Report, bytes]:
    with world.schema():
        report, created = report_request(
            actor=world.members[who], kind=kind, format=format, params=params, time_zone="Europe/Berlin"
        )
        assert created
        assert report_generate(report_id=report.pk) == "done"
        report.refresh_from_db()
        with storage().open(report.storage_key, "rb") as stored:
            return report, stored.read()


def _xlsx_text(value) -> str:
    """An XLSX cell as the CSV writes it: local times with the offset, numbers as floats."""
    if isinstance(value, datetime):
        # Excel keeps times as fractions of a day: round to the second.
        return (value + timedelta(microseconds=500_000)).replace(microsecond=0, tzinfo=BERLIN).isoformat()
    if value is None:
        return ""
    if isinstance(value, int | float):
        return _number_text(value)
    return str(value)


def _number_text(value) -> str:
    """A number as PostgreSQL writes a float8 in the CSV (1, 3.5)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_sheets(content: bytes) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


@pytest.mark.django_db
def test_completed_tasks_lists_exactly_the_period_in_the_organisations_time_zone(world):
    report, content = generate(world, "owner", "completed_tasks", "csv", **PERIOD)

    rows = csv_rows(content)
    assert rows[0] == [
        "Task",
        "Title",
        "Project",
        "Assignees",
        "Labels",
        "Priority",
        "Created",
        "Completed",
        "Cycle time (days)",
    ]
    # Inclusive from (WEB-2 at local midnight), exclusive to (WEB-4 at the next one).
    assert [row[0] for row in rows[1:]] == ["WEB-2", "OPS-1", "WEB-3"]
    assert rows[1] == [
        "WEB-2",
        "Task WEB-2",
        "WEB",
        "Dev, owner@alpha.test",
        "",
        "None",
        "2026-10-31T00:00:00+01:00",
        "2026-11-01T00:00:00+01:00",
        "1",
    ]
    assert rows[3][4] == "bug"
    assert report.row_count == 3
    assert report.file_size == len(content)
    assert report.progress == 100
    assert report.filename == "completed-tasks_2026-11-01_2026-11-08.csv"


@pytest.mark.django_db
def test_completed_tasks_summary_figures(world):
    report, _content = generate(world, "owner", "completed_tasks", "json", **PERIOD)

    summary = report.summary
    # Cycle times 1, 2 and 4 days: median 2; p90 interpolates 2 + 0.8 * (4 - 2).
    assert summary["figures"] == {"tasks": 3, "cycle_time_median_days": 2.0, "cycle_time_p90_days": 3.6}
    assert summary["tables"]["by_assignee"] == [
        {"assignee": "Dev", "email": "dev@alpha.test", "tasks": 2},
        {"assignee": "owner@alpha.test", "email": "owner@alpha.test", "tasks": 1},
        {"assignee": "(unassigned)", "email": "", "tasks": 1},
    ]
    assert summary["tables"]["by_project"] == [
        {"project": "WEB", "name": "Website", "tasks": 2},
        {"project": "OPS", "name": "Operations", "tasks": 1},
    ]


@pytest.mark.django_db
def test_the_same_dates_in_utc_select_other_tasks(world):
    with world.schema():
        report, _created = report_request(
            actor=world.members["owner"], kind="completed_tasks", format="csv", params=PERIOD, time_zone="UTC"
        )
        report_generate(report_id=report.pk)
        with storage().open(Report.objects.get(pk=report.pk).storage_key, "rb") as stored:
            rows = csv_rows(stored.read())
    # In UTC the period starts an hour later and ends an hour later.
    assert [row[0] for row in rows[1:]] == ["OPS-1", "WEB-3", "WEB-4"]


@pytest.mark.django_db
def test_completed_tasks_filters_by_project_assignee_and_label(world):
    _report, by_project = generate(world, "owner", "completed_tasks", "csv", project="OPS", **PERIOD)
    assert [row[0] for row in csv_rows(by_project)[1:]] == ["OPS-1"]
    with world.schema():
        dev_id = world.members["dev"].pk
    _report, by_assignee = generate(world, "owner", "completed_tasks", "json", assignee=str(dev_id), **PERIOD)
    assert [row["task"] for row in json.loads(by_assignee)["rows"]] == ["WEB-2", "WEB-3"]
    _report, by_label = generate(world, "owner", "completed_tasks", "csv", label=str(world.bug.pk), **PERIOD)
    assert [row[0] for row in csv_rows(by_label)[1:]] == ["WEB-3"]


@pytest.mark.django_db
def test_a_report_holds_only_projects_where_the_requester_may_report(world):
    # dev holds report.create in WEB only; OPS-1 (completed in the period) stays out of
    # the rows and of every summary figure.
    report, content = generate(world, "dev", "completed_tasks", "csv", **PERIOD)
    assert [row[0] for row in csv_rows(content)[1:]] == ["WEB-2", "WEB-3"]
    assert report.summary["figures"]["tasks"] == 2
    assert [row["project"] for row in report.summary["tables"]["by_project"]] == ["WEB"]
    assert "(unassigned)" not in json.dumps(report.summary)
    # The guest (Reporter in OPS only) gets OPS and nothing of WEB.
    _guest_report, guest_content = generate(world, "guest", "completed_tasks", "csv", **PERIOD)
    assert [row[0] for row in csv_rows(guest_content)[1:]] == ["OPS-1"]
    _workload, workload = generate(world, "guest", "workload", "json")
    assert json.loads(workload)["rows"] == []
    status_report, status_content = generate(world, "dev", "project_status", "json", **PERIOD)
    assert {row["project"] for row in json.loads(status_content)["rows"]} == {"WEB"}
    assert [row["project"] for row in status_report.summary["tables"]["by_project"]] == ["WEB"]


@pytest.mark.django_db
def test_access_lost_before_generation_is_respected(world):
    from tenant_apps.projects.services import project_member_remove

    with world.schema():
        report, _created = report_request(
            actor=world.members["dev"], kind="completed_tasks", format="csv", params=PERIOD, time_zone="Europe/Berlin"
        )
        from tenant_apps.projects.models import ProjectMember

        project_member_remove(project_member=ProjectMember.objects.get(project=world.web, member=world.members["dev"]))
        assert report_generate(report_id=report.pk) == "failed"
        report.refresh_from_db()
    assert report.status == "failed"
    assert report.failure_reason == "You may no longer request reports in any project."
    assert report.storage_key == ""


@pytest.mark.django_db
def test_xlsx_parses_back_to_the_csv_rows_with_a_summary_sheet(world):
    _csv_report, csv_content = generate(world, "owner", "completed_tasks", "csv", **PERIOD)
    xlsx_report, xlsx_content = generate(world, "owner", "completed_tasks", "xlsx", **PERIOD)

    sheets = xlsx_sheets(xlsx_content)
    assert list(sheets) == ["Summary", "Rows"]
    from_csv = csv_rows(csv_content)
    rows = sheets["Rows"]
    assert list(rows[0]) == from_csv[0]
    assert len(rows) == len(from_csv)
    for xlsx_row, csv_row in zip(rows[1:], from_csv[1:], strict=True):
        as_text = [_xlsx_text(value) for value in xlsx_row]
        assert as_text == csv_row
    summary = sheets["Summary"]
    assert ("Completed tasks", 3) in [row[:2] for row in summary]
    assert ("Median cycle time (days)", 2) in [row[:2] for row in summary]
    assert ("Dev", "dev@alpha.test", 2) in [row[:3] for row in summary]
    assert xlsx_report.filename.endswith(".xlsx")


@pytest.mark.django_db
def test_json_parses_back_to_the_csv_rows(world):
    _csv_report, csv_content = generate(world, "owner", "completed_tasks", "csv", **PERIOD)
    report, json_content = generate(world, "owner", "completed_tasks", "json", **PERIOD)

    document = json.loads(json_content)
    keys = [column["key"] for column in document["columns"]]

    def as_csv(value) -> str:
        if isinstance(value, float):
            return _number_text(value)
        if isinstance(value, str) and value[:4].isdigit() and "T" in value:  # a time: to the second
            moment = datetime.fromisoformat(value)
            return moment.replace(microsecond=0).isoformat()
        return str(value)

    assert [as_csv(row[key]) for row in document["rows"] for key in keys] == [
        value for row in csv_rows(csv_content)[1:] for value in row
    ]
    assert document["summary"] == report.summary
    assert document["report"]["parameters"] == {"from": "2026-11-01", "to": "2026-11-08", "time_zone": "Europe/Berlin"}


@pytest.mark.django_db
def test_cyrillic_and_formula_like_titles_survive_csv(world):
    with world.schema():
        from tenant_apps.tasks.models import Task

        Task.objects.filter(pk=world.tasks["WEB-2"].pk).update(title="Исправить оплату")
        Task.objects.filter(pk=world.tasks["WEB-3"].pk).update(title='=HYPERLINK("http://evil","x")')
    _report, content = generate(world, "owner", "completed_tasks", "csv", **PERIOD)
    titles = {row[0]: row[1] for row in csv_rows(content)[1:]}
    assert titles["WEB-2"] == "Исправить оплату"
    # A spreadsheet would run it as a formula; the apostrophe keeps it text.
    assert titles["WEB-3"] == '\'=HYPERLINK("http://evil","x")'
    _report, xlsx = generate(world, "owner", "completed_tasks", "xlsx", **PERIOD)
    rows = {row[0]: row[1] for row in xlsx_sheets(xlsx)["Rows"][1:]}
    assert rows["WEB-3"] == '=HYPERLINK("http://evil","x")'  # a string cell, not a formula


@pytest.mark.django_db
def test_workload_counts_open_tasks_per_assignee_and_overdue(world):
    with world.schema():
        from tenant_apps.tasks.models import Task
        from tenant_apps.tasks.services import task_create

        owner, dev = world.members["owner"], world.members["dev"]
        Task.objects.filter(pk=world.tasks["WEB-5"].pk).update(due_date=date(2000, 1, 1))
        # A task in review: state "In review", category (status) in progress.
        review = world.web.states.get(name="In review")
        task_create(project=world.web, actor=owner, title="Review", state=review, assignees=[dev, owner])
        task_create(project=world.ops, actor=owner, title="Nobody's", status="in_progress")
    report, content = generate(world, "owner", "workload", "json")

    rows = json.loads(content)["rows"]
    assert rows == [
        {
            "assignee": "Dev",
            "email": "dev@alpha.test",
            "backlog": 0,
            "todo": 1,
            "in_progress": 1,
            "open": 2,
            "overdue": 1,
        },
        {
            "assignee": "owner@alpha.test",
            "email": "owner@alpha.test",
            "backlog": 0,
            "todo": 0,
            "in_progress": 1,
            "open": 1,
            "overdue": 0,
        },
        {
            "assignee": "(unassigned)",
            "email": "",
            "backlog": 0,
            "todo": 0,
            "in_progress": 1,
            "open": 1,
            "overdue": 0,
        },
    ]
    figures = report.summary["figures"]
    assert (figures["open"], figures["todo"], figures["backlog"], figures["in_progress"], figures["overdue"]) == (
        3,
        1,
        0,
        2,
        1,
    )
    assert report.summary["tables"]["by_project"] == [
        {"project": "OPS", "name": "Operations", "open": 1, "overdue": 0},
        {"project": "WEB", "name": "Website", "open": 2, "overdue": 1},
    ]


@pytest.mark.django_db
def test_project_status_counts_by_status_and_per_week(world):
    # 2026-11-01 is a Sunday: the weeks of the period start on Mondays 26 Oct and 2 Nov.
    report, content = generate(world, "owner", "project_status", "csv", **PERIOD)

    rows = csv_rows(content)
    assert rows == [
        ["Project", "Name", "Week starting", "Created", "Completed"],
        ["OPS", "Operations", "2026-10-26", "0", "0"],
        # OPS-1 was created on 31 October, before the period.
        ["OPS", "Operations", "2026-11-02", "0", "1"],
        # WEB-2 completed at local midnight on Sunday 1 November.
        ["WEB", "Website", "2026-10-26", "0", "1"],
        # Created: WEB-3 (5 Nov), WEB-4 (7 Nov 00:00 local), WEB-5 (2 Nov).
        ["WEB", "Website", "2026-11-02", "3", "1"],
    ]
    by_project = {row["project"]: row for row in report.summary["tables"]["by_project"]}
    assert by_project["WEB"]["done"] == 4
    assert by_project["WEB"]["todo"] == 1
    assert by_project["WEB"]["total"] == 5
    assert (by_project["WEB"]["created"], by_project["WEB"]["completed"]) == (3, 2)
    assert (by_project["OPS"]["created"], by_project["OPS"]["completed"]) == (0, 1)
    assert report.summary["figures"] == {"projects": 2, "created": 3, "completed": 3}


@pytest.mark.django_db
def test_rows_stream_with_a_constant_number_of_queries(world):
    def queries_for(extra_tasks: int) -> int:
        with world.schema():
            from tenant_apps.tasks.models import Task
            from tenant_apps.tasks.services import task_create

            for index in range(extra_tasks):
                task = task_create(project=world.web, actor=world.members["owner"], title=f"More {index}")
                Task.objects.filter(pk=task.pk).update(completed_at=datetime(2026, 11, 3, tzinfo=BERLIN))
            report, _created = report_request(
                actor=world.members["owner"],
                kind="completed_tasks",
                format="xlsx",
                params=PERIOD,
                time_zone="Europe/Berlin",
            )
            with CaptureQueriesContext(connection) as queries:
                report_generate(report_id=report.pk)
            Report.objects.filter(pk=report.pk).delete()
        return len(queries.captured_queries)

    assert queries_for(0) == queries_for(25)


def test_xlsx_row_limit_is_excels():
    assert XLSX_MAX_ROWS == 2**20


@pytest.mark.django_db
def test_xlsx_rows_continue_on_further_sheets_past_the_limit(world, monkeypatch):
    from tenant_apps.reports import writers

    # Three rows with two per sheet below the header: one COPY per sheet, in one snapshot.
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    report, content = generate(world, "owner", "completed_tasks", "xlsx", **PERIOD)
    sheets = xlsx_sheets(content)
    assert list(sheets) == ["Summary", "Rows", "Rows (2)"]
    assert [row[0] for row in sheets["Rows"]] == ["Task", "WEB-2", "OPS-1"]
    assert [row[0] for row in sheets["Rows (2)"]] == ["Task", "WEB-3"]
    assert report.row_count == 3
    # Written by Python (a kind without SQL rows), the same split: one row per sheet.
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 2)
    report, content = generate(world, "owner", "project_status", "xlsx", **PERIOD)
    rows = [sheet for name, sheet in xlsx_sheets(content).items() if name != "Summary"]
    assert report.row_count > 1
    assert len(rows) == report.row_count
    assert all(len(sheet) == 2 and sheet[0][0] == "Project" for sheet in rows)
