"""Periodic work proportional to activity: the marks written with the work, the sweep
that visits only marked organisations and settles each mark at its next due time, and
the backstop that visits every organisation."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.tenants.models import PendingWork
from shared_apps.tenants.pending import pending_work_mark
from tenant_apps.notifications import periodic, processing
from tenant_apps.notifications.models import Event, EventKind
from tenant_apps.notifications.services import event_record
from tenant_apps.reports.models import ReportSchedule
from tenant_apps.reports.services.schedules import report_schedule_set
from tenant_apps.tasks.services import task_create
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _mark(schema: str) -> datetime | None:
    row = PendingWork.objects.filter(schema_name=schema).first()
    return row.due_at if row else None


def _sent(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr(periodic, "outbox_sweep_here", periodic.outbox_sweep_here)  # the real one
    from tenant_apps.notifications import processing

    # The sweep sends by registered name (tenant_apps/notifications/task_names.py).
    monkeypatch.setattr(processing, "send_in_schema", lambda task, **kwargs: sent.append((task, kwargs)) or object())
    return sent


@pytest.mark.django_db
def test_idle_organisations_have_no_mark_and_are_not_visited(team, org_b, monkeypatch):
    PendingWork.objects.all().delete()
    visited = []
    monkeypatch.setattr(periodic, "organization_periodic_work", lambda org, now: visited.append(org) or {})
    assert periodic.periodic_sweep() == {"organizations": 0}
    assert visited == []


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_REDISPATCH_SECONDS=60)
def test_an_event_marks_its_organisation_in_the_same_transaction(team, org_b):
    PendingWork.objects.all().delete()
    schema = team.organization.schema_name
    with schema_context(schema):
        try:
            with transaction.atomic():
                event_record(kind=EventKind.ASSIGNED, actor=None)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert _mark(schema) is None  # no work, no mark
        event = event_record(kind=EventKind.ASSIGNED, actor=None)
    assert _mark(schema) == event.created_at + timedelta(seconds=60)
    assert _mark(org_b.schema_name) is None
    with schema_context(schema):
        pending_work_mark(due_at=event.created_at + timedelta(hours=1))  # never moved later
    assert _mark(schema) == event.created_at + timedelta(seconds=60)


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_REDISPATCH_SECONDS=0)
def test_a_lost_event_is_sent_again_by_the_sweep_and_the_mark_goes_once_it_is_processed(team, monkeypatch):
    sent = _sent(monkeypatch)
    PendingWork.objects.all().delete()
    schema = team.organization.schema_name
    with schema_context(schema):
        event = event_record(kind=EventKind.ASSIGNED, actor=None)  # its message is lost
    assert periodic.periodic_sweep()["events"] == 1
    assert [name for name, _kwargs in sent] == ["notifications.event_process"]
    assert sent[0][1]["schema_name"] == schema
    assert _mark(schema) is not None  # still unprocessed: visited again
    with schema_context(schema):
        assert processing.event_process(event.pk) is True
        assert Event.objects.get(pk=event.pk).redispatched == 1
    periodic.periodic_sweep()
    assert _mark(schema) is None


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_DUE_SOON_HOURS=24)
def test_a_due_date_marks_the_organisation_and_the_reminder_fires_when_due(team):
    PendingWork.objects.all().delete()
    schema = team.organization.schema_name
    zone = ZoneInfo(team.organization.time_zone)
    due = timezone.localdate(timezone.now(), zone) + timedelta(days=5)
    with schema_context(schema):
        task = task_create(project=team.web, actor=team.owner_member, title="Ship", due_date=due)
    assert _mark(schema) is not None  # the trigger, in the task's transaction
    with schema_context(schema):
        for event_id in Event.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
            processing.event_process(event_id)
    periodic.periodic_sweep()
    reminder_at = datetime.combine(due, time(0), tzinfo=zone) - timedelta(hours=24)
    assert _mark(schema) == reminder_at  # nothing until the reminder is due
    assert periodic.periodic_sweep(now=reminder_at - timedelta(minutes=1)) == {"organizations": 0}
    assert periodic.periodic_sweep(now=reminder_at + timedelta(minutes=1))["due_soon"] == 1
    with schema_context(schema):
        assert Event.objects.filter(kind=EventKind.DUE_SOON, task=task).count() == 1


@pytest.mark.django_db
def test_a_weekly_schedule_keeps_a_mark_at_its_next_run(team):
    PendingWork.objects.all().delete()
    schema = team.organization.schema_name
    with schema_context(schema):
        report_schedule_set(actor=team.owner_member, weekday=(timezone.now().weekday() + 2) % 7, format="csv")
    assert _mark(schema) is not None
    periodic.periodic_sweep()
    zone = ZoneInfo(team.organization.time_zone)
    day = timezone.localdate(timezone.now(), zone) + timedelta(days=2)
    assert _mark(schema) == datetime.combine(day, time(7), tzinfo=zone)
    with schema_context(schema):
        ReportSchedule.objects.all().delete()


@pytest.mark.django_db
def test_the_backstop_visits_every_organisation_and_restores_lost_marks(team, org_b, monkeypatch):
    _sent(monkeypatch)
    with schema_context(team.organization.schema_name):
        # An event written without its mark (as if the mark were lost).
        event = Event.objects.create(kind=EventKind.ASSIGNED, payload={})
        Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=1))
    PendingWork.objects.all().delete()
    assert periodic.periodic_sweep() == {"organizations": 0}
    totals = periodic.periodic_backstop()
    assert totals["organizations"] >= 2
    assert totals["marked"] == 1
    assert _mark(team.organization.schema_name) is not None
    assert _mark(org_b.schema_name) is None
    assert periodic.periodic_sweep()["events"] == 1  # the restored mark brings the sweep


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_DUE_SOON_HOURS=24)
def test_the_backstop_finds_a_reminder_due_without_its_mark(team, org_b):
    with schema_context(team.organization.schema_name):
        task = task_create(project=team.web, actor=team.owner_member, title="Soon", due_date=timezone.localdate())
        for event_id in Event.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
            processing.event_process(event_id)
    PendingWork.objects.all().delete()  # as if the trigger's mark were lost
    assert periodic.periodic_backstop()["marked"] == 1  # org_b, idle, is not marked
    assert periodic.periodic_sweep()["due_soon"] == 1
    with schema_context(team.organization.schema_name):
        assert Event.objects.filter(kind=EventKind.DUE_SOON, task=task).count() == 1
    assert _mark(org_b.schema_name) is None  # the idle organisation stays unmarked


@pytest.mark.django_db
def test_a_failing_organisation_is_retried_and_does_not_stop_the_others(team, org_b, monkeypatch):
    PendingWork.objects.all().delete()
    for org in (team.organization, org_b):
        with schema_context(org.schema_name):
            pending_work_mark()
    real = periodic.organization_periodic_work

    def flaky(organization, *, now):
        if organization.pk == team.organization.pk:
            raise RuntimeError("boom")
        return real(organization, now=now)

    monkeypatch.setattr(periodic, "organization_periodic_work", flaky)
    now = timezone.now()
    assert periodic.periodic_sweep(now=now)["organizations"] == 1
    assert _mark(team.organization.schema_name) is not None
    assert _mark(org_b.schema_name) is None
