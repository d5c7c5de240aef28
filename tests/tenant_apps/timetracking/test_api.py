"""Time entries through the API: log (time.log), change and delete only your own, bad
input refused with nothing stored, other organisation / other project unreachable, the
list's constant query count, and the time_logged report."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.tasks.models import Activity
from tenant_apps.timetracking.models import TimeEntry
from tenant_apps.timetracking.selectors import duration_parse
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.tenant_apps.tasks.test_api import Team

JSON = "application/json"
TODAY = timezone.localdate().isoformat()


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _url(task, entry=None) -> str:
    base = f"/api/v1/projects/{task.project.key}/tasks/{task.number}/time-entries/"
    return f"{base}{entry}/" if entry else base


def _entries(team) -> list:
    with schema_context(team.organization.schema_name):
        return sorted(TimeEntry.objects.values_list("task_id", "member_id", "date", "minutes", "note"))


@pytest.mark.django_db
def test_log_change_and_delete_own_time_with_activity(team):
    task = team.task("Build")
    dev = team.client("Developer")
    created = dev.post(_url(task), {"minutes": 90, "date": TODAY, "note": "pairing"}, content_type=JSON)
    assert created.status_code == 201, created.content
    entry = created.json()
    assert (entry["minutes"], entry["note"], entry["member"]["email"]) == (90, "pairing", "developer@alpha.test")
    changed = dev.patch(_url(task, entry["id"]), {"minutes": 60}, content_type=JSON)
    assert changed.status_code == 200
    assert changed.json()["minutes"] == 60
    listed = dev.get(_url(task)).json()
    assert [item["minutes"] for item in listed["results"]] == [60]
    assert dev.get(f"/api/v1/projects/WEB/tasks/{task.number}/").json()["time_spent_minutes"] == 60
    assert dev.delete(_url(task, entry["id"])).status_code == 204
    assert _entries(team) == []
    with schema_context(team.organization.schema_name):
        logged = list(
            Activity.objects.filter(task=task, field="time").order_by("pk").values_list("old_value", "new_value")
        )
    assert [(old is None, new is None) for old, new in logged] == [(True, False), (False, False), (False, True)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "allowed"), [("Project Manager", True), ("Developer", True), ("Reporter", False), ("Viewer", False)]
)
def test_logging_time_needs_time_log(team, role, allowed):
    task = team.task("Build")
    response = team.client(role).post(_url(task), {"minutes": 30, "date": TODAY}, content_type=JSON)
    assert response.status_code == (201 if allowed else 403), response.content
    assert len(_entries(team)) == (1 if allowed else 0)
    assert team.client(role).get(_url(task)).status_code == 200


@pytest.mark.django_db
def test_someone_elses_entry_cannot_be_changed_or_deleted(team):
    task = team.task("Build")
    entry = team.client("Developer").post(_url(task), {"minutes": 30, "date": TODAY}, content_type=JSON).json()
    before = _entries(team)
    pm = team.client("Project Manager")
    assert pm.patch(_url(task, entry["id"]), {"minutes": 1}, content_type=JSON).status_code == 403
    assert pm.delete(_url(task, entry["id"])).status_code == 403
    assert team.client("Viewer").delete(_url(task, entry["id"])).status_code == 403
    other = team.task("Other")
    assert team.client("Developer").delete(_url(other, entry["id"])).status_code == 404  # not this task's
    assert _entries(team) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"minutes": 0, "date": TODAY},
        {"minutes": 24 * 60 + 1, "date": TODAY},
        {"minutes": "an hour", "date": TODAY},
        {"minutes": 30},
        {"minutes": 30, "date": "yesterday"},
        {"minutes": 30, "date": (timezone.localdate() + timedelta(days=5)).isoformat()},
        {"minutes": 30, "date": TODAY, "note": "x" * 501},
        {"minutes": 30, "date": TODAY, "member": 1},
    ],
)
def test_bad_time_entries_are_refused_and_nothing_is_stored(team, payload):
    task = team.task("Build")
    response = team.client("Developer").post(_url(task), payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert _entries(team) == []


@pytest.mark.django_db
def test_time_entries_of_another_project_or_organisation_are_unreachable(team, org_b):
    web = team.task("web")
    ops = team.task("ops", project=team.ops)
    entry = team.client("Project Manager").post(_url(web), {"minutes": 5, "date": TODAY}, content_type=JSON).json()
    # The guest belongs to no project: OPS (and WEB) are invisible to them.
    guest = team.client("guest")
    assert guest.get(_url(ops)).status_code == 404
    assert guest.post(_url(web), {"minutes": 5, "date": TODAY}, content_type=JSON).status_code == 404
    # WEB's entry through OPS's task address: not found (for the owner, who may log anywhere).
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    assert owner.delete(f"/api/v1/projects/OPS/tasks/{ops.number}/time-entries/{entry['id']}/").status_code == 404
    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    client = client_for(team.organization, outsider)
    before = _entries(team)
    assert client.get(_url(web)).status_code == 403
    assert client.post(_url(web), {"minutes": 5, "date": TODAY}, content_type=JSON).status_code == 403
    assert client.delete(_url(web, entry["id"])).status_code == 403
    assert client_for(org_b, outsider).get(_url(web)).status_code == 404
    assert _entries(team) == before


@pytest.mark.django_db
def test_time_entry_list_query_count_does_not_grow(team):
    task = team.task("Build")
    dev = team.client("Developer")
    for minutes in range(1, 13):
        dev.post(_url(task), {"minutes": minutes, "date": TODAY}, content_type=JSON)
    dev.get(_url(task))  # warm the caches the writes invalidated
    counts = []
    for size in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            response = dev.get(f"{_url(task)}?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("90m", 90), ("1h 30m", 90), ("1.5h", 90), ("1,5h", 90), ("2ч 15м", 135), ("2h", 120)],
)
def test_duration_parse_reads_what_people_type(text, minutes):
    assert duration_parse(text) == minutes


@pytest.mark.parametrize("text", ["", "soon", "h", "1h30x", "-5"])
def test_duration_parse_refuses_non_durations(text):
    assert duration_parse(text) is None


@pytest.mark.django_db
def test_time_logged_report_sums_per_person_and_project_in_the_period(team):
    from tenant_apps.reports.services.generation import report_generate
    from tenant_apps.reports.services.requests import report_request
    from tenant_apps.tasks.attachments import storage
    from tenant_apps.timetracking.services import time_entry_create

    web, ops = team.task("web"), team.task("ops", project=team.ops)
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        for task, who, day, minutes in (
            (web, dev, date(2026, 11, 2), 60),
            (web, dev, date(2026, 11, 3), 30),
            (web, pm, date(2026, 11, 7), 45),
            (web, dev, date(2026, 11, 8), 600),  # after the period
            (web, dev, date(2026, 10, 31), 600),  # before it
        ):
            time_entry_create(task=task, actor=who, minutes=minutes, day=day)
        # The owner logs on OPS, where the Developer has no role: an org owner may.
        time_entry_create(task=ops, actor=team.owner_member, minutes=120, day=date(2026, 11, 4))
        report, created = report_request(
            actor=team.owner_member,
            kind="time_logged",
            format="json",
            params={"from": "2026-11-01", "to": "2026-11-08"},
            time_zone="Europe/Berlin",
        )
        assert created
        assert report_generate(report_id=report.pk) == "done"
        report.refresh_from_db()
        with storage().open(report.storage_key, "rb") as stored:
            content = json.loads(stored.read())
    rows = [(r["email"], r["project"], r["entries"], r["minutes"], r["hours"]) for r in content["rows"]]
    assert sorted(rows) == [
        ("developer@alpha.test", "WEB", 2, 90, 1.5),
        ("owner@alpha.test", "OPS", 1, 120, 2.0),
        ("projectmanager@alpha.test", "WEB", 1, 45, 0.75),
    ]
    assert content["summary"]["figures"]["hours"] == 4.25
    # A Developer's report covers only projects where they hold report.create (WEB).
    with schema_context(team.organization.schema_name):
        mine, _created = report_request(
            actor=dev,
            kind="time_logged",
            format="csv",
            params={"from": "2026-11-01", "to": "2026-11-08"},
            time_zone="Europe/Berlin",
        )
        assert report_generate(report_id=mine.pk) == "done"
        mine.refresh_from_db()
        with storage().open(mine.storage_key, "rb") as stored:
            text = stored.read().decode("utf-8-sig")
    assert "OPS" not in text
    assert "developer@alpha.test" in text
