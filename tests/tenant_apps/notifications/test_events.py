"""Events → recipients → deliveries, processed in the test's transaction (the worker's
code path without the broker; the real worker is in test_integration.py)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.core.models import DeliveryFailure
from tenant_apps.members.models import Member
from tenant_apps.notifications import emails, processing
from tenant_apps.notifications.models import (
    DeliveryStatus,
    EmailDelivery,
    Event,
    EventKind,
    Notification,
    Preference,
    ProjectMute,
    Watcher,
)
from tenant_apps.notifications.services import due_soon_record, mentioned_members, preferences_save
from tenant_apps.notifications.texts import event_text_in
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.services import comment_create, comment_update, task_create, task_update
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _process_all() -> list[Event]:
    """Run the worker's step for every pending event, then send due emails."""
    events = list(Event.objects.filter(processed_at__isnull=True).order_by("pk"))
    for event in events:
        assert processing.event_process(event.pk) is True
    for member_id in EmailDelivery.objects.filter(status=DeliveryStatus.PENDING).values_list("recipient_id", flat=True):
        emails.deliveries_send(member_id)
    return events


def _inbox(member: Member) -> list[tuple[str, str]]:
    return [
        (n.event.kind, n.event.payload.get("task_key"))
        for n in Notification.objects.filter(recipient=member).select_related("event").order_by("pk")
    ]


def _mailed_to(email: str) -> list:
    return [message for message in mail.outbox if message.to == [email]]


@pytest.mark.django_db
def test_assignment_notifies_the_new_assignee_once_in_app_and_by_email_never_the_actor(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        task = task_create(project=team.web, actor=pm, title="Fix login")
        _process_all()
        mail.outbox.clear()
        task_update(task=task, actor=pm, data={"assignees": [dev, pm]})
        _process_all()
        assert _inbox(dev) == [(EventKind.ASSIGNED, f"WEB-{task.number}")]
        assert _inbox(pm) == []  # the actor assigned themselves: nothing
        (message,) = _mailed_to("developer@alpha.test")
        assert message.subject == f"[{team.organization.name}] Task WEB-{task.number} was assigned to you"
        assert f"/tasks/WEB-{task.number}/" in message.body
        assert "List-Unsubscribe" in message.extra_headers
        assert _mailed_to("projectmanager@alpha.test") == []
        # Unassigning tells them too.
        task_update(task=task, actor=pm, data={"assignees": [pm]})
        _process_all()
        assert _inbox(dev)[-1] == (EventKind.UNASSIGNED, f"WEB-{task.number}")


@pytest.mark.django_db
def test_status_change_goes_to_assignees_reporter_and_watchers_not_the_actor(team):
    dev, pm, viewer, reporter = (team.members[name] for name in ("Developer", "Project Manager", "Viewer", "Reporter"))
    with schema_context(team.organization.schema_name):
        # Reported by the Reporter (who may not assign: the manager assigns the developer).
        task = task_create(project=team.web, actor=reporter, title="Export CSV")
        task_update(task=task, actor=pm, data={"assignees": [dev]})
        Watcher.objects.create(task=task, member=viewer)
        _process_all()
        Notification.objects.all().delete()
        mail.outbox.clear()
        task_update(task=task, actor=pm, data={"status": "in_progress"})
        _process_all()
        for member in (dev, viewer, reporter):
            assert _inbox(member) == [(EventKind.STATUS_CHANGED, f"WEB-{task.number}")]
            assert len(_mailed_to(member.email)) == 1
        assert _inbox(pm) == []
        assert _mailed_to(pm.email) == []
        event = Event.objects.get(kind=EventKind.STATUS_CHANGED)
        assert (
            event_text_in(event, "en") == f"Project Manager moved task WEB-{task.number} from “To do” to “In progress”"
        )
        russian = event_text_in(event, "ru")
        assert "Project Manager" in russian
        assert f"WEB-{task.number}" in russian
        assert "«К выполнению»" in russian
        assert "«В работе»" in russian


@pytest.mark.django_db
def test_comment_notifies_watchers_and_makes_the_author_a_watcher_mentions_get_one_mention(team):
    dev, pm, viewer, reporter = (team.members[name] for name in ("Developer", "Project Manager", "Viewer", "Reporter"))
    with schema_context(team.organization.schema_name):
        task = task_create(project=team.web, actor=pm, title="Slow search", assignees=[dev])
        _process_all()
        Notification.objects.all().delete()
        comment_create(task=task, actor=reporter, body="Seen it too, @viewer please check")
        _process_all()
        assert Watcher.objects.filter(task=task, member=reporter).exists()
        assert _inbox(dev) == [(EventKind.COMMENT_ADDED, f"WEB-{task.number}")]
        assert _inbox(pm) == [(EventKind.COMMENT_ADDED, f"WEB-{task.number}")]  # reporter and watcher
        assert _inbox(viewer) == [(EventKind.MENTIONED, f"WEB-{task.number}")]  # once, as a mention
        assert _inbox(reporter) == []
        # Editing the comment to mention someone new notifies only the newcomer.
        comment = task.comments.get()
        comment_update(comment=comment, actor=reporter, body=comment.body + " and @developer@alpha.test")
        _process_all()
        assert _inbox(dev)[-1] == (EventKind.MENTIONED, f"WEB-{task.number}")
        assert [kind for kind, _key in _inbox(viewer)] == [EventKind.MENTIONED]


@pytest.mark.django_db
def test_mentions_by_email_local_part_and_display_name(team):
    with schema_context(team.organization.schema_name):
        Member.objects.filter(pk=team.members["Developer"].pk).update(display_name="Mia Wong")
        found = mentioned_members("ping @miawong, @viewer@alpha.test and @nobody; mail me at a@b.c")
        assert sorted(m.email for m in found) == ["developer@alpha.test", "viewer@alpha.test"]
        assert mentioned_members("no mentions here") == []


@pytest.mark.django_db
def test_people_who_cannot_see_the_task_hear_nothing(team):
    guest, pm = team.members["guest"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        task = task_create(project=team.web, actor=pm, title="Secret", description="cc @guest")
        assert not Watcher.objects.filter(task=task, member=guest).exists()  # the mention did nothing
        Watcher.objects.create(task=task, member=guest)  # as if they had watched it before losing access
        task_update(task=task, actor=pm, data={"status": "done"})
        _process_all()
        assert _inbox(guest) == []
        assert _mailed_to(guest.email) == []


@pytest.mark.django_db
def test_preferences_and_project_mutes_are_respected_per_channel(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    viewer = team.members["Viewer"]
    with schema_context(team.organization.schema_name):
        preferences_save(actor=dev, kinds=[{"kind": EventKind.ASSIGNED, "in_app": True, "email": False}])
        ProjectMute.objects.create(member=viewer, project=team.web)
        task_create(project=team.web, actor=pm, title="Quiet", assignees=[dev, viewer])
        _process_all()
        assert _inbox(dev) == [(EventKind.ASSIGNED, "WEB-1")]
        assert _mailed_to(dev.email) == []
        assert _inbox(viewer) == []
        assert _mailed_to(viewer.email) == []
        assert Preference.objects.get(member=dev).email is False


@pytest.mark.django_db
def test_processing_twice_changes_nothing(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        task_create(project=team.web, actor=pm, title="Once", assignees=[dev])
        (event,) = _process_all()
        assert processing.event_process(event.pk) is False
        # Even with the processed mark lost, the unique rows hold.
        Event.objects.filter(pk=event.pk).update(processed_at=None)
        assert processing.event_process(event.pk) is True
        assert Notification.objects.filter(event=event).count() == 1
        assert EmailDelivery.objects.filter(event=event).count() == 1


@pytest.mark.django_db
def test_emails_follow_the_recipients_language_then_the_organisations(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    User.objects.filter(pk=dev.user_id).update(language="ru")
    with schema_context(team.organization.schema_name):
        task_create(project=team.web, actor=pm, title="Перевод", assignees=[dev, team.members["Viewer"]])
        _process_all()
    (russian,) = _mailed_to(dev.email)
    assert "Задача №WEB-1 была назначена вам" in russian.subject
    assert "Задача №WEB-1 была назначена вам" in russian.alternatives[0][0]
    (english,) = _mailed_to("viewer@alpha.test")
    assert "Task WEB-1 was assigned to you" in english.subject
    type(team.organization).objects.filter(pk=team.organization.pk).update(language="ru")
    mail.outbox.clear()
    with schema_context(team.organization.schema_name):
        task_create(project=team.web, actor=pm, title="Ещё", assignees=[team.members["Viewer"]])
        _process_all()
    (now_russian,) = _mailed_to("viewer@alpha.test")
    assert "Задача №WEB-2 была назначена вам" in now_russian.subject


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_EMAIL_DIGEST_SECONDS=120)
def test_several_notifications_within_the_window_make_one_digest(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        first = task_create(project=team.web, actor=pm, title="One", assignees=[dev])
        task_create(project=team.web, actor=pm, title="Two", assignees=[dev])
        for event in Event.objects.order_by("pk"):
            processing.event_process(event.pk)
        waiting = list(EmailDelivery.objects.filter(recipient=dev))
        assert len(waiting) == 2
        assert len({delivery.next_attempt_at for delivery in waiting}) == 1  # one batch
        assert emails.deliveries_send(dev.pk) is None
        assert _mailed_to(dev.email) == []  # not due yet
        EmailDelivery.objects.update(next_attempt_at=timezone.now())
        task_update(task=first, actor=pm, data={"status": "done"})
        emails.deliveries_send(dev.pk)
    (digest,) = _mailed_to(dev.email)
    assert "2 new notifications" in digest.subject
    assert "WEB-1" in digest.body
    assert "WEB-2" in digest.body


@pytest.mark.django_db
@override_settings(
    EMAIL_BACKEND="tests.tenant_apps.notifications.test_events.FailingBackend", NOTIFICATIONS_MAX_ATTEMPTS=2
)
def test_failed_sends_retry_with_backoff_then_fail_visibly(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        task_create(project=team.web, actor=pm, title="Bounce", assignees=[dev])
        (event,) = list(Event.objects.all())
        processing.event_process(event.pk)
        retry_in = emails.deliveries_send(dev.pk)
        assert retry_in is not None
        assert retry_in >= 29
        delivery = EmailDelivery.objects.get(recipient=dev)
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
        assert "SMTP down" in delivery.last_error
        EmailDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert emails.deliveries_send(dev.pk) is None
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    failure = DeliveryFailure.objects.get()
    assert (failure.schema_name, failure.channel, failure.target) == (
        team.organization.schema_name,
        "email",
        "developer@alpha.test",
    )


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")


@pytest.mark.django_db
def test_due_soon_fires_once_per_task_and_due_date(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    today = timezone.localdate()
    with schema_context(team.organization.schema_name):
        task = task_create(project=team.web, actor=pm, title="Ship", assignees=[dev], due_date=today)
        task_create(project=team.web, actor=pm, title="Later", assignees=[dev], due_date=today + timedelta(days=9))
        task_create(project=team.web, actor=pm, title="Done", assignees=[dev], due_date=today, status="done")
        assert due_soon_record() == 1
        assert due_soon_record() == 0
        _process_all()
        assert (EventKind.DUE_SOON, "WEB-1") in _inbox(dev)
        assert (EventKind.DUE_SOON, "WEB-1") in _inbox(pm)  # reporter and watcher
        Task.objects.filter(pk=task.pk).update(due_date=today + timedelta(days=1))
        assert due_soon_record() == 1  # a new due date is a new reminder


@pytest.mark.django_db
def test_emails_waiting_for_someone_who_lost_access_are_skipped(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        task_create(project=team.web, actor=pm, title="Leaving", assignees=[dev])
        (event,) = Event.objects.all()
        processing.event_process(event.pk)
        Member.objects.filter(pk=dev.pk).update(is_active=False)
        assert emails.deliveries_send(dev.pk) is None
        delivery = EmailDelivery.objects.get(recipient=dev)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert _mailed_to(dev.email) == []


@pytest.mark.django_db
def test_a_report_mailed_with_its_file_is_not_mailed_twice(team):
    from tenant_apps.notifications.services import event_record

    dev = team.members["Developer"]
    with schema_context(team.organization.schema_name):
        event = event_record(
            kind=EventKind.REPORT_READY,
            actor=None,
            payload={
                "member_ids": [dev.pk],
                "report_kind": "workload",
                "url": "/api/v1/reports/1/download/",
                "email": False,
            },
        )
        processing.event_process(event.pk)
        assert Notification.objects.filter(recipient=dev).count() == 1
        assert not EmailDelivery.objects.exists()
        assert event_text_in(event, "en") == "Your report “Workload” is ready"


@pytest.mark.django_db
def test_subjects_survive_names_with_line_breaks(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        Member.objects.filter(pk=pm.pk).update(display_name="Eve\nBcc: victim@example.com")
        pm.refresh_from_db()
        task = task_create(project=team.web, actor=pm, title="Header", assignees=[dev])
        task_update(task=task, actor=pm, data={"status": "done"})
        _process_all()
    subjects = [message.subject for message in _mailed_to(dev.email)]
    assert subjects
    assert all("\n" not in subject for subject in subjects)
