"""Weekly scheduled reports: the setting, when they are requested, the email."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings

from shared_apps.tenants.models import OrgRole
from tenant_apps.reports.models import Report, ReportSchedule
from tenant_apps.reports.services.generation import report_generate
from tenant_apps.reports.services.schedules import last_week, report_schedule_set, report_schedules_run
from tenant_apps.reports.tasks import report_email_task
from tests.conftest import client_for
from tests.tenant_apps.reports.conftest import JSON

URL = "/api/v1/reports/schedule/"
# Monday 9 November 2026, 08:00 in Berlin: "last week" is 2-8 November.
MONDAY_MORNING = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_set_read_and_remove_the_weekly_report(world):
    client = world.client("dev")
    assert client.get(URL).json() == {"weekday": None, "format": None, "last_run_on": None, "recipients": []}

    response = client.put(URL, {"weekday": "monday", "format": "csv"}, content_type=JSON)

    assert response.status_code == 200, response.content
    assert response.json() == {"weekday": "monday", "format": "csv", "last_run_on": None, "recipients": []}
    assert client.put(URL, {"weekday": "friday"}, content_type=JSON).json()["weekday"] == "friday"
    with world.schema():
        assert ReportSchedule.objects.get(member=world.members["dev"]).weekday == 4
    assert client.delete(URL).status_code == 204
    assert client.get(URL).json()["weekday"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekday": "someday"}, "weekday"),
        ({}, "weekday"),
        ({"weekday": "monday", "format": "pdf"}, "format"),
        ({"weekday": "monday", "recipients": [999999]}, "recipients"),
        ({"weekday": "monday", "recipients": ["x"]}, "recipients"),
        ({"weekday": "monday", "recipients": list(range(1, 12))}, "recipients"),
    ],
)
def test_bad_schedules_are_refused_by_field(world, body, field):
    response = world.client("dev").put(URL, body, content_type=JSON)
    assert response.status_code == 400
    assert field in response.json()
    with world.schema():
        assert not ReportSchedule.objects.exists()


@pytest.mark.django_db
def test_a_schedule_needs_report_create_and_stays_in_its_organisation(world, org_b):
    assert world.client("viewer").put(URL, {"weekday": "monday"}, content_type=JSON).status_code == 403
    outsider = client_for(world.organization, org_b.memberships.get(role=OrgRole.OWNER).user)
    assert outsider.put(URL, {"weekday": "monday"}, content_type=JSON).status_code == 403
    with world.schema():
        assert not ReportSchedule.objects.exists()


def test_last_week_is_the_previous_monday_to_monday():
    assert last_week(datetime(2026, 11, 9, 8)) == (datetime(2026, 11, 2).date(), datetime(2026, 11, 9).date())  # noqa: DTZ001
    assert last_week(datetime(2026, 11, 15, 23)) == (datetime(2026, 11, 2).date(), datetime(2026, 11, 9).date())  # noqa: DTZ001


@pytest.mark.django_db
def test_a_due_schedule_requests_last_weeks_report_once_that_day(world):
    with world.schema():
        report_schedule_set(actor=world.members["dev"], weekday=0, format="csv")
        report_schedule_set(actor=world.members["owner"], weekday=2, format="csv")  # Wednesdays

        # Sunday evening and Monday before 07:00 Berlin: not yet.
        assert report_schedules_run(time_zone="Europe/Berlin", now=datetime(2026, 11, 8, 20, tzinfo=UTC)) == 0
        assert report_schedules_run(time_zone="Europe/Berlin", now=datetime(2026, 11, 9, 5, 59, tzinfo=UTC)) == 0
        assert report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING) == 1
        assert report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING) == 0

        report = Report.objects.get()
        assert report.requested_by == world.members["dev"]
        assert (report.kind, report.format, report.email_when_done) == ("completed_tasks", "csv", True)
        assert (report.params["from"], report.params["to"]) == ("2026-11-02", "2026-11-09")
        assert ReportSchedule.objects.get(member=world.members["dev"]).last_run_on.isoformat() == "2026-11-09"


@pytest.mark.django_db
def test_a_schedule_without_report_create_any_more_is_skipped(world):
    from tenant_apps.projects.models import ProjectMember

    with world.schema():
        report_schedule_set(actor=world.members["dev"], weekday=0, format="csv")
        ProjectMember.objects.filter(member=world.members["dev"]).delete()
        assert report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING) == 0
        assert not Report.objects.exists()


@pytest.mark.django_db
def test_the_finished_report_is_mailed_with_the_file_attached(world, django_capture_on_commit_callbacks):
    with world.schema():
        report_schedule_set(actor=world.members["owner"], weekday=0, format="csv")
        report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING)
        report = Report.objects.get()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report_generate(report_id=report.pk)
        # After the commit: the "report ready" notification and the email task.
        assert len(callbacks) == 2
        assert report_email_task.run(report.pk) is True
        assert report_email_task.run(report.pk) is False  # never twice

    (message,) = mail.outbox
    assert message.to == ["owner@alpha.test"]
    assert message.subject == "Weekly report: tasks completed 2026-11-02 to 2026-11-08"
    assert "Tasks completed in Alpha Corp, 2026-11-02 to 2026-11-08: 3." in message.body
    assert f"http://alpha.localhost/api/v1/reports/{report.pk}/download/" in message.body
    ((filename, content, mimetype),) = message.attachments
    assert filename == "completed-tasks_2026-11-02_2026-11-09.csv"
    assert mimetype == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig") if isinstance(content, bytes) else content)))
    assert [row[0] for row in rows[1:]] == ["OPS-1", "WEB-3", "WEB-4"]


@pytest.mark.django_db
@override_settings(TESSERA_REPORT_EMAIL_MAX_BYTES=10)
def test_a_large_report_is_mailed_as_a_link(world):
    with world.schema():
        report_schedule_set(actor=world.members["owner"], weekday=0, format="xlsx")
        report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING)
        report = Report.objects.get()
        report_generate(report_id=report.pk)
        assert report_email_task.run(report.pk) is True

    (message,) = mail.outbox
    assert message.attachments == []
    assert "too large to attach" in message.body


@pytest.mark.django_db
def test_ordinary_reports_are_not_mailed(world):
    with world.schema():
        report = Report.objects.create(
            requested_by=world.members["dev"],
            kind="workload",
            format="csv",
            params={"time_zone": "UTC"},
            params_digest="d",
            expires_at=MONDAY_MORNING,
        )
        report_generate(report_id=report.pk)
        assert report_email_task.run(report.pk) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_weekly_email_speaks_the_requesters_language(world):
    from shared_apps.accounts.models import User

    owner = world.members["owner"]
    User.objects.filter(pk=owner.user_id).update(language="ru")
    with world.schema():
        report_schedule_set(actor=owner, weekday=0, format="csv")
        report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING)
        report = Report.objects.get()
        report_generate(report_id=report.pk)
        assert report_email_task.run(report.pk) is True
    (message,) = mail.outbox
    assert message.subject.startswith("Еженедельный отчёт")
    assert "2026-11-02" in message.subject
    assert "2026-11-08" in message.subject
    assert "Tasks completed" not in message.body


@pytest.mark.django_db
def test_recipients_get_the_report_while_they_may_see_its_projects(world):
    from tenant_apps.projects.models import ProjectMember
    from tenant_apps.reports.services.schedules import report_email

    with world.schema():
        dev, owner = world.members["dev"], world.members["owner"]
        # dev's report covers WEB; the owner (everything) and nobody else qualifies.
        with pytest.raises(ValidationError):
            report_schedule_set(actor=dev, weekday=0, format="csv", recipients=[world.members["viewer"]])
        report_schedule_set(actor=dev, weekday=0, format="csv", recipients=[owner])
        report_schedules_run(time_zone="Europe/Berlin", now=MONDAY_MORNING)
        report = Report.objects.get()
        report_generate(report_id=report.pk)
        assert report_email(report_id=report.pk) is True
    (message,) = mail.outbox
    assert message.to == ["dev@alpha.test", "owner@alpha.test"]
    # A recipient added behind the service's back who may not see WEB is left out.
    mail.outbox.clear()
    with world.schema():
        schedule = ReportSchedule.objects.get(member=world.members["dev"])
        ProjectMember.objects.filter(member=world.members["viewer"]).delete()  # not even a Viewer
        schedule.recipients.add(world.members["viewer"])
        Report.objects.filter(pk=report.pk).update(email_when_done=True)
        assert report_email(report_id=report.pk) is True
    assert mail.outbox[0].to == ["dev@alpha.test", "owner@alpha.test"]
