"""A move to another workflow state is a status change for people, also within one
category (In progress -> In review): the task's assignees, reporter and watchers hear
of it (never the actor), and the text names the states, in English and Russian."""

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from tenant_apps.notifications.models import Event, EventKind, Notification, Watcher
from tenant_apps.notifications.texts import event_text_in
from tenant_apps.projects.models import WorkflowState
from tenant_apps.projects.services import state_create
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.services import task_create, task_place, task_update
from tests.celery_support import running_worker
from tests.conftest import client_for
from tests.tenant_apps.notifications.test_events import _inbox, _mailed_to, _process_all
from tests.tenant_apps.notifications.test_integration import JSON, Org, _wait_for
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _state(project, name: str) -> WorkflowState:
    return WorkflowState.objects.get(project=project, name=name)


def _status_events() -> list[tuple[str, str, str | None, str | None]]:
    return [
        (e.payload["old"], e.payload["new"], e.payload.get("old_state"), e.payload.get("new_state"))
        for e in Event.objects.filter(kind=EventKind.STATUS_CHANGED).order_by("pk")
    ]


@pytest.mark.django_db
def test_a_move_within_one_category_notifies_like_a_status_change(team):
    dev, pm, viewer, reporter = (team.members[name] for name in ("Developer", "Project Manager", "Viewer", "Reporter"))
    with schema_context(team.organization.schema_name):
        task = task_create(project=team.web, actor=reporter, title="Export CSV")
        task_update(task=task, actor=pm, data={"assignees": [dev], "status": "in_progress"})
        Watcher.objects.create(task=task, member=viewer)
        _process_all()
        Notification.objects.all().delete()
        Event.objects.all().delete()
        mail.outbox.clear()

        task_update(task=Task.objects.get(pk=task.pk), actor=pm, data={"state": _state(team.web, "In review")})
        assert _status_events() == [("in_progress", "in_progress", "In progress", "In review")]
        _process_all()
        for member in (dev, viewer, reporter):
            assert _inbox(member) == [(EventKind.STATUS_CHANGED, task.key)]
            (message,) = _mailed_to(member.email)
            assert "“In review”" in message.subject
        assert _inbox(pm) == []
        assert _mailed_to(pm.email) == []
        event = Event.objects.get(kind=EventKind.STATUS_CHANGED)
        assert event_text_in(event, "en") == f"Project Manager moved task {task.key} from “In progress” to “In review”"
        assert event_text_in(event, "ru") == (
            f"Project Manager перевёл(а) задачу №{task.key} из статуса «В работе» в «На проверке»"
        )
        assert Event.objects.filter(kind=EventKind.UNBLOCKED).count() == 0


@pytest.mark.django_db
def test_state_names_of_the_project_board_moves_and_no_event_without_a_move(team):
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        qa = state_create(project=team.web, actor=pm, name="QA", category="in_progress")
        task = task_create(project=team.web, actor=pm, title="Login", status="in_progress", assignees=[dev])
        Event.objects.all().delete()
        # A board move into a state of the same category (task_place, as the drag does).
        task_place(task=Task.objects.get(pk=task.pk), actor=pm, state=qa)
        # Same state again, another field: no status event.
        task_update(task=Task.objects.get(pk=task.pk), actor=pm, data={"state": qa, "title": "Log in"})
        # Across categories: still one event, with both.
        task_update(task=Task.objects.get(pk=task.pk), actor=pm, data={"state": _state(team.web, "Done")})
        assert _status_events() == [
            ("in_progress", "in_progress", "In progress", "QA"),
            ("in_progress", "done", "QA", "Done"),
        ]
        first, second = Event.objects.filter(kind=EventKind.STATUS_CHANGED).order_by("pk")
        assert event_text_in(first, "en") == f"Project Manager moved task {task.key} from “In progress” to “QA”"
        assert "«QA»" in event_text_in(first, "ru")
        assert event_text_in(second, "ru").endswith("из статуса «QA» в «Готово»")
        # An event written before states were named in the payload reads by category.
        old = Event.objects.create(kind=EventKind.STATUS_CHANGED, task=task, payload={"old": "todo", "new": "done"})
        assert event_text_in(old, "en").endswith("from “To do” to “Done”")


def test_a_state_move_through_the_api_reaches_the_assignee_by_the_real_worker(committed):
    org = Org("stmove")
    task = org.create_task("Review me", assignees=[org.member.pk])
    with schema_context(org.schema):
        in_progress = WorkflowState.objects.get(project__key="WEB", name="In progress").pk
        in_review = WorkflowState.objects.get(project__key="WEB", name="In review").pk
    client = org.client()
    with running_worker():
        _wait_for(lambda: org.count(Notification, recipient=org.member) == 1)  # the assignment
        url = f"/api/v1/projects/WEB/tasks/{task['number']}/"
        assert client.patch(url, {"state": in_progress}, content_type=JSON).status_code == 200
        _wait_for(lambda: org.count(Notification, recipient=org.member, event__kind=EventKind.STATUS_CHANGED) == 1)
        assert client.patch(url, {"state": in_review}, content_type=JSON).status_code == 200
        _wait_for(lambda: org.count(Notification, recipient=org.member, event__kind=EventKind.STATUS_CHANGED) == 2)
    assert org.count(Notification, recipient=org.owner_member) == 0  # the actor
    listed = client_for(org.organization, org.person).get("/api/v1/notifications/").json()
    texts = [item["text"] for item in listed["results"]]
    assert any(text.endswith(f"moved task {task['key']} from “In progress” to “In review”") for text in texts), texts
