"""Events processed in batches (issue 16 item 4): one claim takes many events of an
organisation, shares the recipient, permission, mute and preference lookups, and writes
each table once — with exactly the notifications one-by-one processing gives, nothing
doubled when a batch dies half-way, and the same number of statements for 3 events as
for 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.notifications import processing, services
from tenant_apps.notifications.models import Channel, EmailDelivery, Event, EventKind, Notification, ProjectMute
from tenant_apps.notifications.services import dispatch_mark_clear, event_record, preferences_save, watchers_add
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.services import comment_create, task_create, task_update
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _mixed_events(team: Team) -> list[Event]:
    """Unprocessed events of several kinds, about two projects, for people with
    different rights, mutes and preferences."""
    pm, dev, reporter, viewer, guest = (
        team.members[name] for name in ("Project Manager", "Developer", "Reporter", "Viewer", "guest")
    )
    ProjectMute.objects.create(member=viewer, project=team.ops)
    preferences_save(actor=reporter, kinds=[{"kind": EventKind.COMMENT_ADDED, "in_app": True, "email": False}])
    web = task_create(project=team.web, actor=pm, title="Batch one", assignees=[dev, viewer])
    ops = task_create(project=team.ops, actor=team.owner_member, title="Batch two")
    watchers_add(task=ops, members=[dev, viewer, guest])  # the guest cannot see OPS
    event_record(
        kind=EventKind.ASSIGNED,
        actor=team.owner_member,
        task=ops,
        payload={"member_ids": [dev.pk, viewer.pk, guest.pk]},
    )
    comment_create(task=web, actor=pm, body="Look @reporter and @developer")
    comment_create(task=web, actor=dev, body="Done soon")
    task_update(task=web, actor=dev, data={"status": "in_progress"})
    task_update(task=ops, actor=team.owner_member, data={"status": "done"})
    event_record(kind=EventKind.BILLING_PAST_DUE, actor=None, payload={"member_ids": [team.owner_member.pk]})
    return list(Event.objects.filter(processed_at__isnull=True).select_related("task__project").order_by("pk"))


def _expected(expected: dict, channel: str) -> list:
    return sorted(
        (event_id, pk) for event_id, targets in expected.items() for pk, ch in targets.items() if channel in ch
    )


def _delivered() -> tuple[list, list]:
    notifications = sorted(Notification.objects.values_list("event_id", "recipient_id"))
    emails = sorted(EmailDelivery.objects.values_list("event_id", "recipient_id"))
    return notifications, emails


@pytest.mark.django_db
def test_a_batch_of_several_kinds_and_people_gives_exactly_the_one_by_one_notifications(team):
    with schema_context(team.organization.schema_name):
        events = _mixed_events(team)
        assert len({event.kind for event in events}) >= 5
        # What each event gives on its own (a batch of one), before anything is written.
        expected = {event.pk: processing.recipients(event) for event in events}
        assert processing.recipients_many(events) == expected

        assert processing.events_process_batch(limit=100) == [event.pk for event in events]

        notifications, emails = _delivered()
        assert notifications == sorted(
            (event_id, pk)
            for event_id, targets in expected.items()
            for pk, ch in targets.items()
            if Channel.IN_APP in ch
        )
        assert emails == sorted(
            (event_id, pk)
            for event_id, targets in expected.items()
            for pk, ch in targets.items()
            if Channel.EMAIL in ch
        )
        assert not Event.objects.filter(processed_at__isnull=True).exists()
        # The rules themselves, spelled out for a few of them.
        by_kind = {}
        for event_id, recipient_id in notifications:
            by_kind.setdefault(Event.objects.get(pk=event_id).kind, []).append(recipient_id)
        members = team.members
        guest, viewer, reporter = members["guest"], members["Viewer"], members["Reporter"]
        assert guest.pk not in set().union(*map(set, by_kind.values()))  # never sees either project
        ops_events = set(Event.objects.filter(task__project=team.ops).values_list("pk", flat=True))
        assert not [pk for pk, recipient in notifications if pk in ops_events and recipient == viewer.pk]  # muted
        assert reporter.pk in by_kind[EventKind.MENTIONED]
        mention_comment = Event.objects.get(kind=EventKind.COMMENT_ADDED, actor=members["Project Manager"])
        assert (mention_comment.pk, reporter.pk) not in notifications  # heard of it as a mention
        dev_comment = Event.objects.get(kind=EventKind.COMMENT_ADDED, actor=members["Developer"])
        assert (dev_comment.pk, reporter.pk) in notifications
        assert (dev_comment.pk, reporter.pk) not in emails  # chose in-app only for comments
        assert by_kind[EventKind.BILLING_PAST_DUE] == [team.owner_member.pk]
        for event in events:  # never the actor
            assert (event.pk, event.actor_id) not in notifications

        # A second run adds nothing.
        assert processing.events_process_batch(limit=100) == []
        Event.objects.update(processed_at=None)  # even with the processed marks lost
        processing.outbox_drain(limit=4)
        assert _delivered() == (notifications, emails)


@pytest.mark.django_db
def test_a_batch_that_dies_half_way_leaves_nothing_and_the_redelivery_writes_each_notification_once(team, monkeypatch):
    with schema_context(team.organization.schema_name):
        events = _mixed_events(team)
        expected = {event.pk: processing.recipients(event) for event in events}
        # One event was already done on its own before the crash (a redelivered message).
        assert processing.event_process(events[0].pk) is True
        before = _delivered()

        real = processing._email_due_at

        def crash(*args, **kwargs):  # after the in-app rows are inserted
            raise RuntimeError("worker died")

        monkeypatch.setattr(processing, "_email_due_at", crash)
        with pytest.raises(RuntimeError):
            processing.events_process_batch(limit=100)
        assert _delivered() == before  # the batch's transaction rolled back
        assert Event.objects.filter(processed_at__isnull=True).count() == len(events) - 1

        monkeypatch.setattr(processing, "_email_due_at", real)
        assert processing.outbox_drain(limit=3) == {"processed": len(events) - 1, "failed": 0}
        notifications, _emails = _delivered()
        assert notifications == sorted(
            (event_id, pk)
            for event_id, targets in expected.items()
            for pk, ch in targets.items()
            if Channel.IN_APP in ch
        )
        assert len(notifications) == len(set(notifications))


@pytest.mark.django_db
def test_one_bad_event_holds_back_only_itself(team, monkeypatch):
    with schema_context(team.organization.schema_name):
        events = _mixed_events(team)
        bad = next(event for event in events if event.kind == EventKind.BILLING_PAST_DUE)
        real = processing.recipients_many

        def fails_on_billing(batch):
            if any(event.pk == bad.pk for event in batch):
                raise ValueError("bad payload")
            return real(batch)

        monkeypatch.setattr(processing, "recipients_many", fails_on_billing)
        assert processing.outbox_drain(limit=100) == {"processed": len(events) - 1, "failed": 1}
        assert list(Event.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)) == [bad.pk]
        assert Notification.objects.exclude(event=bad).exists()


def _statements(team: Team, copies: int) -> tuple[int, int]:
    """(SQL statements, events) for one batch of `copies` rounds of the same kinds."""
    pm, dev, viewer = team.members["Project Manager"], team.members["Developer"], team.members["Viewer"]
    tasks = list(Task.objects.filter(title__startswith="Counted").order_by("pk"))
    for number in range(copies):
        task = tasks[number % len(tasks)]
        event_record(kind=EventKind.ASSIGNED, actor=pm, task=task, payload={"member_ids": [dev.pk, viewer.pk]})
        event_record(kind=EventKind.STATUS_CHANGED, actor=pm, task=task, payload={"old": "todo", "new": "done"})
        event_record(kind=EventKind.COMMENT_ADDED, actor=dev, task=task, payload={"excerpt": "hi"})
        event_record(kind=EventKind.BILLING_PAST_DUE, actor=None, payload={"member_ids": [team.owner_member.pk]})
    with CaptureQueriesContext(connection) as queries:
        ids = processing.events_process_batch(limit=1000)
    return len(queries), len(ids)


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_for_4_events_as_for_40(team):
    dev, viewer = team.members["Developer"], team.members["Viewer"]
    with schema_context(team.organization.schema_name):
        for number in range(5):
            project = team.web if number % 2 else team.ops
            task = task_create(project=project, actor=team.owner_member, title=f"Counted {number}")
            watchers_add(task=task, members=[dev, viewer])
        processing.outbox_drain()
        _statements(team, 5)  # the permission answers cached, as on a running worker
        small = _statements(team, 1)
        large = _statements(team, 10)
    assert (small[1], large[1]) == (4, 40)
    assert small[0] == large[0], (small, large)
    assert large[0] <= 15


@pytest.mark.django_db
def test_events_committed_while_a_message_waits_send_no_more_messages(
    team, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []

    def send(task, **kwargs):
        sent.append(kwargs["args"])
        return object()

    monkeypatch.setattr(services, "send_in_schema", send)
    with schema_context(team.organization.schema_name):
        dispatch_mark_clear()
        try:
            for _number in range(5):
                with django_capture_on_commit_callbacks(execute=True):
                    event = event_record(kind=EventKind.BILLING_PAST_DUE, actor=None, payload={"member_ids": []})
                    if not sent:
                        first = event.pk
            assert sent == [[first]]  # one message for the five: the worker takes them all
            dispatch_mark_clear()  # what the worker does before it claims
            with django_capture_on_commit_callbacks(execute=True):
                event = event_record(kind=EventKind.BILLING_PAST_DUE, actor=None, payload={"member_ids": []})
            assert sent == [[first], [event.pk]]
            # The broker is down: the mark is not left behind, the next commit tries again.
            dispatch_mark_clear()
            monkeypatch.setattr(services, "send_in_schema", lambda task, **kwargs: sent.append(kwargs["args"]))
            for _number in range(2):
                with django_capture_on_commit_callbacks(execute=True):
                    event_record(kind=EventKind.BILLING_PAST_DUE, actor=None, payload={"member_ids": []})
            assert len(sent) == 4
        finally:
            dispatch_mark_clear()


def _assigned_to(team: Team, people: list) -> list[int]:
    """One unprocessed assignment per person (each their own email), processed: their
    email rows are due."""
    task = task_create(project=team.web, actor=team.owner_member, title="Mailed")
    for member in people:
        event_record(kind=EventKind.ASSIGNED, actor=team.owner_member, task=task, payload={"member_ids": [member.pk]})
    processing.outbox_drain()
    return sorted({member.pk for member in people})


@pytest.mark.django_db
def test_the_emails_of_a_batch_cost_the_same_statements_for_2_people_as_for_4(team):
    from django.core import mail

    from shared_apps.accounts.models import User
    from tenant_apps.notifications import emails
    from tenant_apps.notifications.models import DeliveryStatus

    people = [team.members[name] for name in ("Project Manager", "Developer", "Reporter", "Viewer")]
    User.objects.filter(pk=team.members["Developer"].user_id).update(language="ru")
    counts = []
    with schema_context(team.organization.schema_name):
        for group in (people[:2], people):
            member_ids = _assigned_to(team, group)
            mail.outbox.clear()
            with CaptureQueriesContext(connection) as captured:
                assert emails.deliveries_send_many(member_ids) == {}
            counts.append(len(captured))
            assert sorted(message.to[0] for message in mail.outbox) == sorted(member.email for member in group)
        assert not EmailDelivery.objects.exclude(status=DeliveryStatus.SENT).exists()
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8
    (russian,) = [message for message in mail.outbox if message.to == [team.members["Developer"].email]]
    assert "была назначена вам" in russian.subject


class FailingFor:
    """A mail backend that refuses one address and sends the others."""

    refused = ""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        pass

    def close(self):
        pass

    def send_messages(self, messages):
        from django.core import mail

        for message in messages:
            if message.to == [self.refused]:
                raise ConnectionRefusedError("550 mailbox unavailable")
            mail.outbox.append(message)
        return len(messages)


@pytest.mark.django_db
def test_one_refused_address_in_a_chunk_is_retried_alone_and_the_others_are_sent(team, monkeypatch, settings):
    from django.core import mail

    from tenant_apps.notifications import emails
    from tenant_apps.notifications.models import DeliveryStatus

    monkeypatch.setattr(emails, "EMAIL_CHUNK", 3)  # four people: two transactions
    settings.EMAIL_BACKEND = "tests.tenant_apps.notifications.test_batches.FailingFor"
    people = [team.members[name] for name in ("Project Manager", "Developer", "Reporter", "Viewer")]
    FailingFor.refused = team.members["Reporter"].email
    mail.outbox.clear()
    with schema_context(team.organization.schema_name):
        member_ids = _assigned_to(team, people)
        retries = emails.deliveries_send_many(member_ids)
        statuses = dict(EmailDelivery.objects.values_list("recipient_id", "status"))
        attempts = dict(EmailDelivery.objects.values_list("recipient_id", "attempts"))
    assert list(retries) == [team.members["Reporter"].pk]
    assert statuses == {
        member.pk: DeliveryStatus.PENDING if member.pk in retries else DeliveryStatus.SENT for member in people
    }
    assert set(attempts.values()) == {1}
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        member.email for member in people if member.pk not in retries
    )
