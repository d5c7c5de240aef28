"""The Reports page: request (kind, period, filters, format), the polled row with its
progress bar, download link once done, mine vs everyone's, delete, the weekly schedule;
bad input inline, wrong role, other tenant, constant query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenant_apps.reports.models import Report, ReportSchedule
from tenant_apps.reports.services.generation import report_generate
from tenant_apps.reports.services.requests import report_request
from tests.conftest import client_for
from tests.tenant_apps.reports.conftest import PERIOD

URL = "/reports/"


def _reports(world) -> list[tuple]:
    with world.schema():
        return sorted(Report.objects.values_list("requested_by__email", "kind", "format", "status"))


def _request(world, who="dev", **params) -> Report:
    with world.schema():
        kind = params.pop("kind", "completed_tasks")
        report, _created = report_request(
            actor=world.members[who],
            kind=kind,
            format=params.pop("format", "csv"),
            params=params or ({} if kind == "workload" else dict(PERIOD)),
            time_zone="Europe/Berlin",
        )
        return report


@pytest.mark.django_db
def test_the_nav_links_to_the_reports_page(world):
    page = world.client("dev").get("/projects/").text
    assert 'href="/reports/"' in page
    assert "soon/reports" not in page


@pytest.mark.django_db
def test_request_a_report_from_the_form(world, django_capture_on_commit_callbacks):
    data = {"kind": "completed_tasks", "format": "csv", "project": "WEB", "assignee": "me", **PERIOD}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = world.client("dev").post(URL, data)
    assert response.status_code == 302
    assert _reports(world) == [("dev@alpha.test", "completed_tasks", "csv", "queued")]
    assert len(callbacks) == 1  # the generation, enqueued on commit
    with world.schema():
        report = Report.objects.get()
        assert report.params["project"] == "WEB"
        assert report.params["assignee_id"] == world.members["dev"].pk
    assert response["Location"] == f"/reports/#report-{report.pk}"


@pytest.mark.django_db
def test_filters_a_kind_does_not_take_are_left_out(world):
    response = world.client("dev").post(URL, {"kind": "workload", "format": "xlsx", **PERIOD})
    assert response.status_code == 302
    with world.schema():
        assert "from" not in Report.objects.get().params


@pytest.mark.django_db
def test_a_queued_report_row_polls_and_a_done_one_offers_the_download(world):
    report = _request(world)
    client = world.client("dev")
    row = client.get(f"/reports/{report.pk}/row/", HTTP_HX_REQUEST="true").text
    assert 'hx-trigger="every 1s"' in row
    assert "<progress" in row
    assert 'value="0"' in row
    with world.schema():
        Report.objects.filter(pk=report.pk).update(status="running", progress=40)
    assert 'value="40"' in client.get(f"/reports/{report.pk}/row/").text
    with world.schema():
        Report.objects.filter(pk=report.pk).update(status="queued", progress=0)
        assert report_generate(report_id=report.pk) == "done"
    row = client.get(f"/reports/{report.pk}/row/").text
    assert "hx-trigger" not in row
    assert f'href="/api/v1/reports/{report.pk}/download/"' in row
    assert client.get(f"/api/v1/reports/{report.pk}/download/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "nope", "format": "csv"}, "Select a valid choice"),
        ({"kind": "completed_tasks", "format": "pdf", **PERIOD}, "Select a valid choice"),
        ({"kind": "completed_tasks", "format": "csv"}, "required for the completed_tasks report"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2026-11-08", "to": "2026-11-01"}, "must end after"),
        ({"kind": "completed_tasks", "format": "csv", "from": "yesterday", "to": "2026-11-01"}, "from"),
        ({"kind": "workload", "format": "csv", "project": "NOPE"}, "No such project"),
        ({"kind": "workload", "format": "csv", "assignee": "99999"}, "No such member"),
    ],
)
def test_bad_input_is_shown_inline_and_nothing_is_requested(world, data, error):
    response = world.client("dev").post(URL, data)
    assert response.status_code == 400
    assert error in response.text
    assert 'class="errorlist' in response.text or 'class="form-errors' in response.text
    assert _reports(world) == []


@pytest.mark.django_db
def test_without_report_create_the_form_is_hidden_and_a_forced_request_refused(world):
    page = world.client("viewer").get(URL)
    assert page.status_code == 200
    assert "Reports are not open to you" in page.text
    assert 'name="kind"' not in page.text
    assert world.client("viewer").post(URL, {"kind": "workload", "format": "csv"}).status_code == 403
    # dev may report on WEB only, not on OPS.
    assert world.client("dev").post(URL, {"kind": "workload", "format": "csv", "project": "OPS"}).status_code == 403
    response = world.client("viewer").post("/reports/schedule/", {"weekday": "0", "format": "csv"})
    assert response.status_code == 403
    assert _reports(world) == []
    with world.schema():
        assert not ReportSchedule.objects.exists()


@pytest.mark.django_db
def test_mine_and_everyones_reports(world):
    mine = _request(world, "dev")
    theirs = _request(world, "owner", kind="workload", format="json", project="OPS")
    dev_page = world.client("dev").get(URL + "?who=all").text
    assert f'id="report-{mine.pk}"' in dev_page
    assert f'id="report-{theirs.pk}"' not in dev_page  # not a manager: only their own
    owner = world.client("owner")
    assert f'id="report-{mine.pk}"' not in owner.get(URL).text
    everyone = owner.get(URL + "?who=all").text
    assert f'id="report-{mine.pk}"' in everyone
    assert f'id="report-{theirs.pk}"' in everyone
    # Someone else's report: 404 to the row and the delete, and it stays.
    assert world.client("dev").get(f"/reports/{theirs.pk}/row/").status_code == 404
    assert world.client("dev").post(f"/reports/{theirs.pk}/delete/").status_code == 404
    assert len(_reports(world)) == 2
    assert owner.post(f"/reports/{mine.pk}/delete/").status_code == 302
    assert len(_reports(world)) == 1


@pytest.mark.django_db
def test_other_organisation_cannot_see_or_delete_reports(world, org_b):
    report = _request(world)
    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import OrgRole

    bravo_owner = User.objects.get(pk=org_b.memberships.get(role=OrgRole.OWNER).user_id)
    outsider = client_for(world.organization, bravo_owner)
    assert outsider.get(f"/reports/{report.pk}/row/").status_code in (302, 403, 404)
    assert outsider.post(f"/reports/{report.pk}/delete/").status_code in (302, 403, 404)
    assert outsider.post(URL, {"kind": "workload", "format": "csv"}).status_code in (302, 403, 404)
    # On Bravo's own domain the id does not exist.
    assert client_for(org_b, bravo_owner).get(f"/reports/{report.pk}/row/").status_code == 404
    assert len(_reports(world)) == 1


@pytest.mark.django_db
def test_weekly_schedule_set_change_and_stop(world):
    client = world.client("dev")
    assert client.post("/reports/schedule/", {"weekday": "0", "format": "csv"}).status_code == 302
    with world.schema():
        assert ReportSchedule.objects.get(member=world.members["dev"]).weekday == 0
    assert client.post("/reports/schedule/", {"weekday": "4", "format": "xlsx"}).status_code == 302
    with world.schema():
        schedule = ReportSchedule.objects.get(member=world.members["dev"])
        assert (schedule.weekday, schedule.format) == (4, "xlsx")
    assert "dev@alpha.test" in client.get(URL).text
    response = client.post("/reports/schedule/", {"weekday": "9", "format": "csv"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    assert client.post("/reports/schedule/", {"weekday": "", "format": "csv"}).status_code == 302
    with world.schema():
        assert not ReportSchedule.objects.exists()


@pytest.mark.django_db
def test_reports_page_queries_stay_constant_as_reports_grow(world):
    client = world.client("owner")
    _request(world, "owner")
    client.get(URL + "?who=all")
    with CaptureQueriesContext(connection) as first:
        client.get(URL + "?who=all")
    _request(world, "dev")
    _request(world, "owner", kind="workload", format="json")
    _request(world, "dev", kind="workload", format="csv", project="WEB")
    client.get(URL + "?who=all")
    with CaptureQueriesContext(connection) as second:
        client.get(URL + "?who=all")
    assert len(second) == len(first)


@pytest.mark.django_db
def test_weekly_schedule_recipients_must_see_what_the_report_covers(world):
    # The owner's report covers WEB and OPS; dev may report on WEB only, so dev cannot
    # receive it; the owner may receive dev's (WEB only).
    owner, dev = world.members["owner"], world.members["dev"]
    response = world.client("owner").post(
        "/reports/schedule/", {"weekday": "0", "format": "csv", "recipients": [dev.pk]}
    )
    assert response.status_code == 400
    assert "cannot receive it" in response.text
    with world.schema():
        assert not ReportSchedule.objects.exists()
    response = world.client("dev").post(
        "/reports/schedule/", {"weekday": "1", "format": "csv", "recipients": [owner.pk]}
    )
    assert response.status_code == 302
    with world.schema():
        schedule = ReportSchedule.objects.get(member=dev)
        assert list(schedule.recipients.values_list("pk", flat=True)) == [owner.pk]
    assert world.client("dev").get("/api/v1/reports/schedule/").json()["recipients"] == [owner.pk]
    page = world.client("dev").get(URL).text
    assert f'<option value="{owner.pk}" selected>' in page
    # Sent again without recipients: none any more.
    assert world.client("dev").post("/reports/schedule/", {"weekday": "1", "format": "csv"}).status_code == 302
    with world.schema():
        assert not ReportSchedule.objects.get(member=dev).recipients.exists()
