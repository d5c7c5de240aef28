"""The task_list report kind (the list's Export button): the list's filters applied,
validated as the list validates them; the page that requests it and follows it."""

import pytest

from tenant_apps.reports.models import Report
from tenant_apps.reports.services.generation import report_generate
from tests.conftest import client_for
from tests.tenant_apps.reports.conftest import JSON
from tests.tenant_apps.reports.test_generation import csv_rows, generate, xlsx_sheets

pytestmark = pytest.mark.django_db


def test_the_export_applies_the_lists_filters_and_order(world):
    _report, content = generate(world, "dev", "task_list", "csv", project="WEB", filters="status=done&ordering=number")
    rows = csv_rows(content)
    assert rows[0][:4] == ["Task", "Title", "Project", "Status"]
    assert [row[0] for row in rows[1:]] == ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]
    assert {row[3] for row in rows[1:]} == {"Done"}
    mine, content = generate(world, "dev", "task_list", "xlsx", filters=f"assignee=me&label={world.bug.pk}")
    sheets = xlsx_sheets(content)
    data = next(rows for rows in sheets.values() if rows and rows[0][0] == "Task")
    assert [row[0] for row in data[1:]] == ["WEB-3"]
    # "me" is resolved when the report is requested: the worker needs no request.
    assert mine.params["filters"] == f"assignee={world.members['dev'].pk}&label={world.bug.pk}"


def test_the_export_reads_only_projects_where_the_requester_may_report(world):
    _report, content = generate(world, "dev", "task_list", "csv", filters="")
    keys = {row[2] for row in csv_rows(content)[1:]}
    assert keys == {"WEB"}  # OPS is not theirs


@pytest.mark.parametrize(
    ("filters", "text"),
    [
        ("status=nope", "status"),
        ("colour=red", "Unknown filter"),
        ("ordering=relevance", "relevance"),
        ("assignee=someone", "assignee"),
    ],
)
def test_bad_filters_are_refused_by_name_and_nothing_is_queued(world, filters, text):
    response = world.client("dev").post(
        "/api/v1/reports/", {"kind": "task_list", "format": "csv", "filters": filters}, content_type=JSON
    )
    assert response.status_code == 400, response.content
    assert text in str(response.json()["filters"])
    with world.schema():
        assert not Report.objects.exists()


def test_filters_belong_to_the_task_list_only(world):
    response = world.client("dev").post(
        "/api/v1/reports/", {"kind": "workload", "format": "csv", "filters": "status=todo"}, content_type=JSON
    )
    assert response.status_code == 400
    assert "filters" in response.json()


def test_export_button_requests_the_report_and_the_page_follows_it(world):
    client = world.client("dev")
    listing = client.get("/projects/WEB/list/?status=done").content.decode()
    assert "Export the list" in listing
    assert 'value="status=done"' in listing
    response = client.post("/tasks/export/", {"project": "WEB", "filters": "status=done&page=2", "format": "xlsx"})
    assert response.status_code == 302
    with world.schema():
        report = Report.objects.get()
        assert (report.kind, report.format, report.params["filters"]) == ("task_list", "xlsx", "status=done")
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page
    with world.schema():
        assert report_generate(report_id=report.pk) == "done"
    fragment = client.get(response["Location"], headers={"HX-Request": "true", "HX-Target": "report-state"})
    body = fragment.content.decode()
    assert "4 rows exported." in body
    assert f"/api/v1/reports/{report.pk}/download/" in body
    assert "every 1s" not in body


def test_export_page_refuses_bad_input_wrong_role_and_other_organisations(world, org_b):
    client = world.client("dev")
    assert client.post("/tasks/export/", {"project": "WEB", "filters": "", "format": "pdf"}).status_code == 400
    bad = client.post("/tasks/export/", {"project": "WEB", "filters": "status=nope", "format": "csv"})
    assert bad.status_code == 400
    assert "status" in bad.content.decode()
    assert client.post("/tasks/export/", {"project": "NOPE", "format": "csv"}).status_code == 404
    assert client.get("/tasks/export/").status_code == 405
    viewer = world.client("viewer")
    assert viewer.post("/tasks/export/", {"project": "WEB", "format": "csv"}).status_code == 403
    assert "Export the list" not in viewer.get("/projects/WEB/list/").content.decode()
    bravo = org_b.memberships.get(role="owner").user
    assert client_for(world.organization, bravo).post("/tasks/export/", {"format": "csv"}).status_code == 403
    with world.schema():
        assert not Report.objects.exists()
    # Someone else's report page is not there.
    client.post("/tasks/export/", {"project": "WEB", "format": "csv"})
    with world.schema():
        report = Report.objects.get()
    assert world.client("viewer").get(f"/reports/{report.pk}/").status_code == 404
    assert client_for(org_b, bravo).get(f"/reports/{report.pk}/").status_code == 404
