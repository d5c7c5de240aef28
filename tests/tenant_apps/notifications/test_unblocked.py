"""`task.unblocked` (issue 15 item 3): when a task enters the done category, the
assignees of every still-open task it blocks hear of it — never the actor, as their
preferences and mutes allow — whatever the path (task update, board move, a state
recategorised as done, a state deleted into a done state)."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.notifications.models import Event, EventKind, Notification, Preference, ProjectMute
from tenant_apps.notifications.services import preferences_save
from tenant_apps.notifications.texts import event_text_in
from tenant_apps.projects.models import Role, TaskStatus, WorkflowState
from tenant_apps.projects.services import project_member_set, state_delete, state_update
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.relations import relation_add
from tenant_apps.tasks.services import task_create, task_place, task_update
from tests.celery_support import running_worker
from tests.conftest import client_for
from tests.tenant_apps.notifications.test_events import _inbox, _mailed_to, _process_all
from tests.tenant_apps.notifications.test_integration import JSON, Org, _wait_for
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _blocking(team: Team, blocked_count: int = 1, assignees=None) -> tuple[Task, list[Task]]:
    """A blocker and `blocked_count` tasks it blocks, assigned to `assignees` (default:
    the developer); earlier events processed, inboxes and mail cleared."""
    pm, dev = team.members["Project Manager"], team.members["Developer"]
    blocker = task_create(project=team.web, actor=pm, title="Design the API")
    blocked = []
    for n in range(blocked_count):
        task = task_create(project=team.web, actor=pm, title=f"Build client {n}")
        task_update(task=task, actor=pm, data={"assignees": assignees if assignees is not None else [dev]})
        relation_add(task=blocker, other=task, kind="blocks", actor=pm)
        blocked.append(task)
    _process_all()
    Notification.objects.all().delete()
    mail.outbox.clear()
    return blocker, blocked


def _unblocked() -> list[tuple[str, list[int], str]]:
    return [
        (event.payload["task_key"], event.payload["member_ids"], event.payload["blocker_key"])
        for event in Event.objects.filter(kind=EventKind.UNBLOCKED).order_by("pk")
    ]


@pytest.mark.django_db
def test_a_done_blocker_tells_the_open_blocked_tasks_assignees_never_the_actor(team):
    pm, dev = team.members["Project Manager"], team.members["Developer"]
    with schema_context(team.organization.schema_name):
        blocker, (blocked,) = _blocking(team, assignees=[dev, pm])
        closed = task_create(project=team.web, actor=pm, title="Dropped")
        task_update(task=closed, actor=pm, data={"assignees": [dev]})
        relation_add(task=blocker, other=closed, kind="blocks", actor=pm)
        task_update(task=closed, actor=pm, data={"status": TaskStatus.CANCELLED})
        nobody = task_create(project=team.web, actor=pm, title="Unassigned")
        relation_add(task=blocker, other=nobody, kind="blocks", actor=pm)
        # Another relation kind, and a task blocking the blocker: not concerned.
        related = task_create(project=team.web, actor=pm, title="Related")
        task_update(task=related, actor=pm, data={"assignees": [dev]})
        relation_add(task=blocker, other=related, kind="relates_to", actor=pm)
        _process_all()
        Notification.objects.all().delete()
        mail.outbox.clear()

        task_update(task=blocker, actor=pm, data={"status": TaskStatus.IN_PROGRESS})
        assert _unblocked() == []  # not done yet
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.DONE})
        # Only the open, assigned, blocked task; the actor is not among its recipients.
        assert _unblocked() == [(blocked.key, [dev.pk], blocker.key)]
        event = Event.objects.get(kind=EventKind.UNBLOCKED)
        assert event.task_id == blocked.pk
        assert event.actor_id == pm.pk
        assert event.payload["task_title"] == "Build client 0"
        _process_all()
        assert (EventKind.UNBLOCKED, blocked.key) in _inbox(dev)
        assert all(kind != EventKind.UNBLOCKED for kind, _key in _inbox(pm))
        (message,) = [m for m in _mailed_to(dev.email) if blocker.key in m.subject]
        assert message.subject == f"[{team.organization.name}] {blocker.key}, which blocked {blocked.key}, is done"
        assert f"/tasks/{blocked.key}/" in message.body
        assert _mailed_to(pm.email) == []

        assert event_text_in(event, "en") == f"{blocker.key}, which blocked {blocked.key}, is done"
        russian = f"Задача №{blocker.key}, которая блокировала задачу №{blocked.key}, выполнена"
        assert event_text_in(event, "ru") == russian


@pytest.mark.django_db
def test_every_entry_into_done_counts_moves_within_done_and_leaving_do_not(team):
    pm = team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        blocker, (blocked,) = _blocking(team)
        done = WorkflowState.objects.get(project=team.web, category=TaskStatus.DONE)
        shipped = WorkflowState.objects.create(
            project=team.web, name="Shipped", colour="#00aa00", position=9, category=TaskStatus.DONE
        )
        task_place(task=blocker, actor=pm, state=done)  # a board move
        assert len(_unblocked()) == 1
        task_update(task=blocker, actor=pm, data={"state": shipped})  # still done
        assert len(_unblocked()) == 1
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.TODO})  # reopened: blocks again
        assert len(_unblocked()) == 1
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.DONE})  # done again: news again
        assert len(_unblocked()) == 2
        # Once the blocked task is closed, its blocker's later completions say nothing.
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.TODO})
        task_update(task=blocked, actor=pm, data={"status": TaskStatus.DONE})
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.DONE})
        assert len(_unblocked()) == 2


@pytest.mark.django_db
def test_preferences_and_mutes_apply_to_the_new_kind(team):
    pm, dev = team.members["Project Manager"], team.members["Developer"]
    with schema_context(team.organization.schema_name):
        preferences_save(actor=dev, kinds=[{"kind": EventKind.UNBLOCKED, "in_app": False, "email": True}])
        assert Preference.objects.get(member=dev, kind="task.unblocked").in_app is False
        blocker, _blocked = _blocking(team)
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.DONE})
        _process_all()
        assert all(kind != EventKind.UNBLOCKED for kind, _key in _inbox(dev))
        assert len([m for m in _mailed_to(dev.email) if blocker.key in m.subject]) == 1

        ProjectMute.objects.create(member=dev, project=team.web)
        mail.outbox.clear()
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.TODO})
        task_update(task=blocker, actor=pm, data={"status": TaskStatus.DONE})
        _process_all()
        assert Event.objects.filter(kind=EventKind.UNBLOCKED).count() == 2
        assert _mailed_to(dev.email) == []


@pytest.mark.django_db
def test_a_state_recategorised_as_done_or_deleted_into_done_unblocks_its_tasks(team):
    pm = team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        blocker, (blocked,) = _blocking(team)
        review = WorkflowState.objects.get(project=team.web, name="In review")
        task_update(task=blocker, actor=pm, data={"state": review})
        state_update(state=review, data={"category": TaskStatus.DONE}, actor=pm)
        assert _unblocked() == [(blocked.key, [team.members["Developer"].pk], blocker.key)]
        assert Event.objects.get(kind=EventKind.UNBLOCKED).actor_id == pm.pk
        state_update(state=review, data={"category": TaskStatus.IN_PROGRESS}, actor=pm)  # leaving done: nothing
        assert len(_unblocked()) == 1

        done = WorkflowState.objects.get(project=team.web, name="Done")
        state_delete(state=review, move_to=done, actor=pm)
        assert len(_unblocked()) == 2
        blocker.refresh_from_db()
        assert (blocker.state_id, blocker.status) == (done.pk, TaskStatus.DONE)


@pytest.mark.django_db
def test_one_statement_for_the_blocked_tasks_however_many(team):
    pm = team.members["Project Manager"]

    def queries(blocked_count: int) -> int:
        blocker, _blocked = _blocking(team, blocked_count)
        with CaptureQueriesContext(connection) as captured:
            task_update(task=blocker, actor=pm, data={"status": TaskStatus.DONE})
        assert Event.objects.filter(kind=EventKind.UNBLOCKED, payload__blocker_key=blocker.key).count() == (
            blocked_count
        )
        return len(captured)

    with schema_context(team.organization.schema_name):
        queries(1)  # warm the caches (permissions, states)
        assert queries(1) == queries(6)


def test_through_the_api_and_a_real_worker(committed):
    org = Org("unblk")
    blocker = org.create_task("Design")
    blocked = org.create_task("Build", assignees=[org.member.pk])
    client = org.client()
    response = client.post(
        f"/api/v1/projects/WEB/tasks/{blocked['number']}/relations/",
        {"kind": "blocked_by", "task": blocker["key"]},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    with running_worker():
        _wait_for(lambda: org.count(Notification, recipient=org.member) == 1)  # the assignment
        response = client.patch(
            f"/api/v1/projects/WEB/tasks/{blocker['number']}/", {"status": "done"}, content_type=JSON
        )
        assert response.status_code == 200, response.content
        _wait_for(lambda: org.count(Notification, recipient=org.member, event__kind=EventKind.UNBLOCKED) == 1)
    assert org.count(Notification, recipient=org.owner_member) == 0  # the actor
    with schema_context(org.schema):
        notification = Notification.objects.get(event__kind=EventKind.UNBLOCKED)
        assert notification.event.payload["task_key"] == blocked["key"]
    listed = client_for(org.organization, org.person).get("/api/v1/notifications/").json()
    texts = [item["text"] for item in listed["results"]]
    assert f"{blocker['key']}, which blocked {blocked['key']}, is done" in texts


@pytest.mark.django_db
def test_a_blocker_in_a_project_the_assignee_cannot_see_tells_them_nothing(team):
    owner, guest = team.owner_member, team.members["guest"]  # guests see only their projects
    with schema_context(team.organization.schema_name):
        project_member_set(project=team.web, member=guest, role=Role.objects.get(name="Developer"))
        blocker = task_create(project=team.ops, actor=owner, title="Provision the server")
        blocked = task_create(project=team.web, actor=owner, title="Deploy", assignees=[guest])
        relation_add(task=blocker, other=blocked, kind="blocks", actor=owner)
        _process_all()
        Notification.objects.all().delete()
        task_update(task=blocker, actor=owner, data={"status": TaskStatus.DONE})
        (event,) = Event.objects.filter(kind=EventKind.UNBLOCKED)
        assert event.payload["member_ids"] == [guest.pk]
        _process_all()
        assert _inbox(guest) == []  # the guest is not in OPS
        project_member_set(project=team.ops, member=guest, role=Role.objects.get(name="Viewer"))
        task_update(task=blocker, actor=owner, data={"status": TaskStatus.TODO})
        task_update(task=blocker, actor=owner, data={"status": TaskStatus.DONE})
        _process_all()
        assert _inbox(guest) == [(EventKind.UNBLOCKED, blocked.key)]
