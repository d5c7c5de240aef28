"""Sub-tasks, estimates and time on the task page and the board, through the Django
client: happy paths, the confirm step before closing a parent with open sub-tasks, bad
input inline (nothing stored), wrong role refused (nothing changed), other tenant,
constant query counts as sub-tasks and entries grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.services import task_create
from tenant_apps.timetracking.models import TimeEntry
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team

TODAY = timezone.localdate().isoformat()


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _in(team, fn):
    with schema_context(team.organization.schema_name):
        return fn()


def _state(team):
    return _in(
        team,
        lambda: (
            sorted(Task.objects.values_list("number", "title", "status", "parent_id", "estimate")),
            sorted(TimeEntry.objects.values_list("task_id", "member_id", "minutes", "note")),
        ),
    )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.django_db
def test_add_subtasks_log_time_and_see_progress_and_roll_up(team):
    parent = team.task("Epic")
    dev = team.client("Developer")
    assert dev.post(f"/tasks/{parent.key}/subtask/", {"title": "Part one"}).status_code == 302
    assert dev.post(f"/tasks/{parent.key}/subtask/", {"title": "Part two"}).status_code == 302
    assert dev.post("/tasks/WEB-2/time-log/", {"duration": "1h 30m", "date": TODAY, "note": "spike"}).status_code == 302
    assert dev.post(f"/tasks/{parent.key}/time-log/", {"duration": "45m", "date": TODAY}).status_code == 302
    page = dev.get(f"/tasks/{parent.key}/").text
    assert "Part one" in page
    assert "0 of 2 closed" in page
    assert "Logged: 45m" in page
    assert "With sub-tasks: 2h 15m" in page
    child_page = dev.get("/tasks/WEB-2/").text
    assert "Sub-task of" in child_page
    assert "spike" in child_page
    board = dev.get("/projects/WEB/").text
    assert "☑ 0/2" in board
    assert "☑ 0/2" in dev.get("/projects/WEB/list/").text
    assert _in(team, lambda: list(Task.objects.filter(parent=parent).values_list("number", flat=True))) == [2, 3]


@pytest.mark.django_db
def test_closing_a_parent_with_open_subtasks_has_a_confirm_step(team):
    parent = team.task("Epic")
    _in(team, lambda: task_create(project=team.web, actor=team.owner_member, title="open", parent=parent))
    dev = team.client("Developer")
    before = _state(team)
    asked = dev.post(f"/tasks/{parent.key}/edit/", {"fields": "status", "status": "done", "version": parent.version})
    assert asked.status_code == 409
    assert "Close it anyway" in asked.text
    assert "WEB-2" in asked.text
    assert _state(team) == before
    confirmed = dev.post(
        f"/tasks/{parent.key}/edit/", {"fields": "status", "status": "done", "version": parent.version, "force": "on"}
    )
    assert confirmed.status_code == 302
    assert _in(team, lambda: Task.objects.get(pk=parent.pk).status) == "done"


@pytest.mark.django_db
def test_board_move_of_a_parent_asks_first_and_bulk_close_is_refused_with_a_message(team):
    import json

    from tenant_apps.projects.models import WorkflowState

    parent = team.task("Epic")
    _in(team, lambda: task_create(project=team.web, actor=team.owner_member, title="open", parent=parent))
    done = _in(team, lambda: WorkflowState.objects.filter(project=team.web, category="done").first())
    dev = team.client("Developer")
    before = _state(team)
    # The drag script: a 409 it can ask about (the code), nothing changed.
    asked = dev.post("/projects/WEB/move/", {"number": parent.number, "status": "done"}, HTTP_ACCEPT="application/json")
    assert asked.status_code == 409
    assert asked.json()["code"] == "open_children"
    assert "1 sub-task is still open (WEB-2)" in asked.json()["detail"]
    # The card menu (htmx): the columns as they were, and the question to ask.
    menu = dev.post("/projects/WEB/move/", {"move": f"{parent.number}:{done.pk}"}, HTTP_HX_REQUEST="true")
    assert menu.status_code == 200
    question = json.loads(menu["HX-Trigger"])["tessera:board-confirm"]
    assert question["move"] == f"{parent.number}:{done.pk}"
    assert "1 sub-task is still open" in question["message"]
    dev.post("/tasks/bulk/", {"action": "status", "status": "done", "task": [parent.key]})
    assert _state(team) == before
    # Confirmed: closed, the sub-task left open.
    confirmed = dev.post("/projects/WEB/move/", {"move": question["move"], "force": "1"}, HTTP_HX_REQUEST="true")
    assert confirmed.status_code == 200
    assert "tessera:toast" in json.loads(confirmed["HX-Trigger"])
    assert _in(team, lambda: sorted(Task.objects.values_list("title", "status"))) == [
        ("Epic", "done"),
        ("open", "todo"),
    ]
    # A Viewer may not move it, confirmed or not.
    viewer = team.client("Viewer")
    refused = viewer.post("/projects/WEB/move/", {"number": parent.number, "status": "todo", "force": "1"},
                          HTTP_ACCEPT="application/json")  # fmt: skip
    assert refused.status_code == 403


@pytest.mark.django_db
def test_parent_and_estimate_from_the_side_form_with_inline_errors(team):
    team.task("a")
    team.task("b")
    dev = team.client("Developer")
    ok = dev.post("/tasks/WEB-2/edit/", {"fields": ["parent", "estimate"], "parent": "web-1", "estimate": "3.5"})
    assert ok.status_code == 302
    assert _in(team, lambda: Task.objects.filter(number=2).values_list("parent__number", "estimate").get()) == (
        1,
        3.5,
    )
    before = _state(team)
    for data in (
        {"fields": "parent", "parent": "WEB-2"},  # itself
        {"fields": "parent", "parent": "WEB-99"},
        {"fields": "parent", "parent": "what"},
        {"fields": "estimate", "estimate": "-2"},
    ):
        response = dev.post("/tasks/WEB-1/edit/" if data.get("parent") == "WEB-2" else "/tasks/WEB-2/edit/", data)
        assert response.status_code == 400, (data, response.status_code)
        assert 'class="errorlist' in response.text
    # WEB-1 under WEB-2, whose parent is WEB-1: a cycle.
    cycle = dev.post("/tasks/WEB-1/edit/", {"fields": "parent", "parent": "WEB-2"})
    assert "cycle" in cycle.text
    assert _state(team) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"duration": "", "date": TODAY},
        {"duration": "soon", "date": TODAY},
        {"duration": "25h", "date": TODAY},
        {"duration": "1h", "date": "not a day"},
        {"duration": "1h", "date": "2999-01-01"},
    ],
)
def test_bad_time_is_an_inline_error_and_nothing_is_stored(team, data):
    task = team.task("Build")
    before = _state(team)
    response = team.client("Developer").post(f"/tasks/{task.key}/time-log/", data)
    assert response.status_code == 400
    assert 'id="time-errors"' in response.text
    assert _state(team) == before


@pytest.mark.django_db
def test_wrong_role_cannot_add_subtasks_or_log_or_touch_others_time(team):
    task = team.task("Build")
    dev = team.client("Developer")
    dev.post(f"/tasks/{task.key}/time-log/", {"duration": "30m", "date": TODAY})
    entry = _in(team, lambda: TimeEntry.objects.get())
    before = _state(team)
    viewer = team.client("Viewer")
    assert viewer.post(f"/tasks/{task.key}/subtask/", {"title": "x"}).status_code == 403
    assert viewer.post(f"/tasks/{task.key}/time-log/", {"duration": "30m", "date": TODAY}).status_code == 403
    reporter = team.client("Reporter")
    assert reporter.post(f"/tasks/{task.key}/time-log/", {"duration": "30m", "date": TODAY}).status_code == 403
    pm = team.client("Project Manager")
    assert pm.post(f"/tasks/{task.key}/time-delete/", {"entry": entry.pk}).status_code == 403
    assert (
        pm.post(f"/tasks/{task.key}/time-edit/", {"entry": entry.pk, "duration": "1m", "date": TODAY}).status_code
        == 403
    )
    assert "Log time" not in viewer.get(f"/tasks/{task.key}/").text
    assert _state(team) == before
    # The author edits and deletes their own.
    assert (
        dev.post(f"/tasks/{task.key}/time-edit/", {"entry": entry.pk, "duration": "2h", "date": TODAY}).status_code
        == 302
    )
    assert _in(team, lambda: TimeEntry.objects.get().minutes) == 120
    assert dev.post(f"/tasks/{task.key}/time-delete/", {"entry": entry.pk}).status_code == 302
    assert _in(team, lambda: TimeEntry.objects.count()) == 0


@pytest.mark.django_db
def test_other_organisation_cannot_reach_the_new_actions(team):
    task = team.task("Build")
    bravo_owner = User.objects.get(email="owner@bravo.test")
    client = client_for(team.organization, bravo_owner)
    before = _state(team)
    for action, data in (("subtask", {"title": "x"}), ("time-log", {"duration": "1h", "date": TODAY})):
        assert client.post(f"/tasks/{task.key}/{action}/", data).status_code in (403, 404)
    assert _state(team) == before


@pytest.mark.django_db
def test_task_page_and_board_queries_stay_constant_as_subtasks_and_time_grow(team):
    parent = team.task("Epic")
    dev = team.client("Developer")
    dev.post(f"/tasks/{parent.key}/subtask/", {"title": "first"})
    dev.post(f"/tasks/{parent.key}/time-log/", {"duration": "1h", "date": TODAY})
    dev.get(f"/tasks/{parent.key}/")
    dev.get("/projects/WEB/")
    page, board = _queries(dev, f"/tasks/{parent.key}/"), _queries(dev, "/projects/WEB/")
    for index in range(6):
        dev.post(f"/tasks/{parent.key}/subtask/", {"title": f"more {index}"})
        dev.post(f"/tasks/WEB-{index + 2}/time-log/", {"duration": "15m", "date": TODAY})
        dev.post(f"/tasks/{parent.key}/time-log/", {"duration": "5m", "date": TODAY})
    dev.get(f"/tasks/{parent.key}/")
    dev.get("/projects/WEB/")
    assert _queries(dev, f"/tasks/{parent.key}/") == page
    assert _queries(dev, "/projects/WEB/") == board


@pytest.mark.django_db
def test_a_parent_in_a_hidden_project_is_not_shown_and_saving_keeps_it(team):
    from tenant_apps.projects.models import Role
    from tenant_apps.projects.services import project_member_set

    epic = team.task("Secret epic", project=team.ops)
    child = _in(team, lambda: task_create(project=team.web, actor=team.owner_member, title="child", parent=epic))
    guest = team.members["guest"]
    _in(team, lambda: project_member_set(project=team.web, member=guest, role=Role.objects.get(name="Developer")))
    client = team.client("guest")
    page = client.get(f"/tasks/{child.key}/").text
    assert "Secret epic" not in page
    assert epic.key not in page
    saved = client.post(
        f"/tasks/{child.key}/edit/", {"fields": ["status", "priority"], "status": "in_progress", "priority": "high"}
    )
    assert saved.status_code == 302
    assert _in(team, lambda: Task.objects.filter(pk=child.pk).values_list("parent_id", "status").get()) == (
        epic.pk,
        "in_progress",
    )
