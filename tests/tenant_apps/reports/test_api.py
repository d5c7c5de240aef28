"""The reports API: request, list, detail, download, delete; validation, roles, tenants."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.tenants.models import OrgRole
from tenant_apps.members.models import Member
from tenant_apps.projects.services import project_create
from tenant_apps.reports.models import Report
from tenant_apps.reports.services.generation import report_generate
from tenant_apps.reports.services.requests import report_request
from tenant_apps.tasks.attachments import storage
from tenant_apps.tasks.models import Label
from tests.conftest import client_for
from tests.tenant_apps.reports.conftest import JSON, PERIOD

URL = "/api/v1/reports/"


def _count(world) -> int:
    with world.schema():
        return Report.objects.count()


def _done_report(world, who: str = "dev", format: str = "csv") -> Report:
    with world.schema():
        report, _created = report_request(
            actor=world.members[who], kind="completed_tasks", format=format, params=PERIOD, time_zone="Europe/Berlin"
        )
        assert report_generate(report_id=report.pk) == "done"
        report.refresh_from_db()
        return report


@pytest.mark.django_db
def test_request_a_report_is_queued_and_enqueued_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = world.request("dev", kind="completed_tasks", format="xlsx", project="WEB", **PERIOD)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["params"] == {
        "from": "2026-11-01",
        "to": "2026-11-08",
        "project": "WEB",
        "time_zone": "Europe/Berlin",
    }
    assert body["requested_by"]["email"] == "dev@alpha.test"
    assert body["download_url"] is None
    assert len(callbacks) == 1  # the generation task, sent once the row is committed


@pytest.mark.django_db
def test_the_same_request_while_one_is_under_way_returns_it(world):
    first = world.request("dev", kind="completed_tasks", format="csv", **PERIOD)
    again = world.request("dev", kind="completed_tasks", format="csv", to="2026-11-08", **{"from": "2026-11-01"})
    other_format = world.request("dev", kind="completed_tasks", format="json", **PERIOD)
    someone_else = world.request("owner", kind="completed_tasks", format="csv", **PERIOD)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert other_format.status_code == someone_else.status_code == 201
    assert len({first.json()["id"], other_format.json()["id"], someone_else.json()["id"]}) == 3
    # Once it is done, the same request makes a new report (the data may have changed).
    with world.schema():
        report_generate(report_id=first.json()["id"])
    assert world.request("dev", kind="completed_tasks", format="csv", **PERIOD).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "velocity", "format": "csv"}, "kind"),
        ({"kind": "workload", "format": "pdf"}, "format"),
        ({"format": "csv"}, "kind"),
        ({"kind": "completed_tasks", "format": "csv", "to": "2026-11-08"}, "from"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2026-11-08"}, "to"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2026-11-08", "to": "2026-11-08"}, "to"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2026-11-08", "to": "2026-11-01"}, "to"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2020-01-01", "to": "2023-01-02"}, "to"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"kind": "completed_tasks", "format": "csv", "from": "yesterday", "to": "2026-12-01"}, "from"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "project": "NOPE"}, "project"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "assignee": "999999"}, "assignee"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "assignee": "²"}, "assignee"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "label": "١٢"}, "label"),
        ({"kind": "completed_tasks", "format": "csv", "from": "9998-01-01", "to": "9999-01-01"}, "from"),
        ({"kind": "completed_tasks", "format": "csv", "from": "2026-01-01", "to": "9999-12-31T23:59:59"}, "to"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "assignee": "someone"}, "assignee"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "label": "999999"}, "label"),
        ({**PERIOD, "kind": "completed_tasks", "format": "csv", "colour": "red"}, "colour"),
        ({"kind": "workload", "format": "csv", **PERIOD}, "from"),
        ({"kind": "workload", "format": "csv", "label": "1"}, "label"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(world, body, field):
    response = world.client("owner").post(URL, body, content_type=JSON)

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert _count(world) == 0


@pytest.mark.django_db
def test_a_period_of_exactly_the_maximum_is_accepted(world):
    response = world.request(
        "owner", kind="completed_tasks", format="csv", **{"from": "2020-01-01", "to": "2023-01-01"}
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_a_label_of_another_project_is_refused(world):
    with world.schema():
        ops_label = Label.objects.create(project=world.ops, name="infra")
    response = world.request("owner", kind="completed_tasks", format="csv", project="WEB", label=ops_label.pk, **PERIOD)
    assert response.status_code == 400
    assert "label" in response.json()


@pytest.mark.django_db
def test_a_project_the_requester_cannot_see_is_no_such_project(world):
    # The guest is in OPS only: WEB does not exist as far as they can tell.
    response = world.request("guest", kind="workload", format="csv", project="WEB")
    assert response.status_code == 400
    assert response.json() == {"project": ["No such project."]}


@pytest.mark.django_db
def test_report_create_permission_is_required(world):
    # Viewer role in WEB only: no report.create anywhere.
    refused = world.request("viewer", kind="workload", format="csv")
    # dev may report on WEB, and sees OPS (an organisation member), but holds no role there.
    other_project = world.request("dev", kind="workload", format="csv", project="OPS")

    assert refused.status_code == 403
    assert other_project.status_code == 403
    assert _count(world) == 0
    assert world.request("dev", kind="workload", format="csv", project="WEB").status_code == 201


@pytest.mark.django_db
def test_anonymous_and_other_organisations_are_refused(world, org_b):
    anonymous = client_for(world.organization).post(URL, {"kind": "workload", "format": "csv"}, content_type=JSON)
    outsider = client_for(world.organization, org_b.memberships.get(role=OrgRole.OWNER).user)

    assert anonymous.status_code == 401
    assert outsider.post(URL, {"kind": "workload", "format": "csv"}, content_type=JSON).status_code == 403
    assert outsider.get(URL).status_code == 403
    assert _count(world) == 0


@pytest.mark.django_db
def test_list_shows_own_reports_and_everything_to_owners_and_admins(world):
    mine = world.request("dev", kind="workload", format="csv").json()["id"]
    theirs = world.request("owner", kind="workload", format="json").json()["id"]

    dev_list = world.client("dev").get(URL).json()
    owner_list = world.client("owner").get(URL).json()
    owner_own = world.client("owner").get(URL, {"requested_by": "me"}).json()

    assert [item["id"] for item in dev_list["results"]] == [mine]
    assert [item["id"] for item in owner_list["results"]] == [theirs, mine]
    assert [item["id"] for item in owner_own["results"]] == [theirs]
    assert world.client("viewer").get(URL).json()["count"] == 0
    assert "summary" not in dev_list["results"][0]


@pytest.mark.django_db
def test_list_filters_and_refuses_unknown_parameters(world):
    done = _done_report(world)
    world.request("dev", kind="workload", format="csv")
    client = world.client("dev")

    assert [item["id"] for item in client.get(URL, {"status": "done"}).json()["results"]] == [done.pk]
    assert client.get(URL, {"kind": "workload"}).json()["count"] == 1
    assert client.get(URL, {"status": "finished"}).status_code == 400
    response = client.get(URL, {"sort": "size"})
    assert response.status_code == 400
    assert "sort" in response.json()


@pytest.mark.django_db
def test_list_query_count_is_constant(world):
    client = world.client("owner")
    world.request("dev", kind="workload", format="csv")
    client.get(URL)  # warm the host and permission caches

    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for format in ("json", "xlsx"):
        world.request("dev", kind="workload", format=format)
    for who in ("owner", "guest"):
        world.request(who, kind="workload", format="csv")
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).json()["count"] == 5
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_detail_shows_progress_and_summary_to_its_requester_and_managers(world):
    report = _done_report(world)

    body = world.client("dev").get(f"{URL}{report.pk}/").json()
    assert body["status"] == "done"
    assert (body["progress"], body["row_count"]) == (100, 2)
    assert body["file_size"] > 0
    assert body["download_url"] == f"/api/v1/reports/{report.pk}/download/"
    assert body["summary"]["figures"]["tasks"] == 2
    assert world.client("owner").get(f"{URL}{report.pk}/").status_code == 200
    assert world.client("viewer").get(f"{URL}{report.pk}/").status_code == 404
    assert world.client("guest").get(f"{URL}{report.pk}/").status_code == 404


@pytest.mark.django_db
def test_download_is_an_attachment_for_the_requester_only(world):
    report = _done_report(world)

    response = world.client("dev").get(f"{URL}{report.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="completed-tasks_2026-11-01_2026-11-08.csv"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["WEB-2", "WEB-3"]
    assert world.client("viewer").get(f"{URL}{report.pk}/download/").status_code == 404
    assert world.client("owner").get(f"{URL}{report.pk}/download/").status_code == 200


@pytest.mark.django_db
def test_download_before_the_report_is_done_is_a_conflict(world):
    report_id = world.request("dev", kind="workload", format="xlsx").json()["id"]

    response = world.client("dev").get(f"{URL}{report_id}/download/")

    assert response.status_code == 409
    assert "queued" in response.json()["detail"]


@pytest.mark.django_db
def test_another_organisations_reports_and_files_are_404(world, org_b):
    report = _done_report(world, who="owner")
    bravo_owner = org_b.memberships.get(role=OrgRole.OWNER).user
    with schema_context(org_b.schema_name):
        # The same id may exist in bravo; make sure it does not, so 404 means isolation.
        assert not Report.objects.filter(pk=report.pk).exists()
        project_create(key="BRV", name="Bravo", actor=Member.objects.get(user_id=bravo_owner.pk))
    bravo = client_for(org_b, bravo_owner)

    for path in (f"{URL}{report.pk}/", f"{URL}{report.pk}/download/"):
        assert bravo.get(path).status_code == 404
    assert bravo.delete(f"{URL}{report.pk}/").status_code == 404
    assert bravo.get(URL).json()["count"] == 0
    assert _count(world) == 1


@pytest.mark.django_db
def test_delete_removes_the_report_and_its_file(world, django_capture_on_commit_callbacks):
    report = _done_report(world)
    assert world.client("viewer").delete(f"{URL}{report.pk}/").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("dev").delete(f"{URL}{report.pk}/")

    assert response.status_code == 204
    assert _count(world) == 0
    assert not storage().exists(report.storage_key)
    assert world.client("dev").get(f"{URL}{report.pk}/").status_code == 404


@pytest.mark.django_db
def test_managers_may_delete_anyones_report(world):
    report = _done_report(world)
    assert world.client("owner").delete(f"{URL}{report.pk}/").status_code == 204
    assert _count(world) == 0


@pytest.mark.django_db
def test_report_kinds_are_listed(world):
    body = world.client("viewer").get(f"{URL}kinds/").json()
    kinds = {item["code"]: item for item in body["results"]}
    assert set(kinds) == {"completed_tasks", "workload", "project_status", "time_logged", "task_list"}
    assert kinds["task_list"]["params"] == ["project", "filters"]
    assert kinds["completed_tasks"]["required"] == ["from", "to"]
    assert kinds["workload"]["formats"] == ["csv", "xlsx", "json"]


@pytest.mark.django_db
def test_report_kinds_are_for_members_only(world, org_b):
    outsider = client_for(world.organization, org_b.memberships.get(role=OrgRole.OWNER).user)
    assert outsider.get(f"{URL}kinds/").status_code == 403
    assert client_for(world.organization).get(f"{URL}kinds/").status_code == 401


@pytest.mark.django_db
def test_a_deactivated_member_has_no_reports(world):
    report = _done_report(world)
    with world.schema():
        Member.objects.filter(pk=world.members["dev"].pk).update(is_active=False)

    assert world.client("dev").get(f"{URL}{report.pk}/").status_code == 403
    assert world.client("dev").get(f"{URL}{report.pk}/download/").status_code == 403
