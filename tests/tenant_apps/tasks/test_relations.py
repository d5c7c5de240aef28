"""Relations between tasks (issue 15 item 3): blocks / blocked by, duplicates /
duplicated by, relates to — through the API and the task page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_member_set
from tenant_apps.tasks.models import Activity, Task, TaskRelation
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.tenant_apps.tasks.test_api import JSON, Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _url(number: int, key: str = "WEB") -> str:
    return f"/api/v1/projects/{key}/tasks/{number}/relations/"


def _world(team) -> tuple:
    with schema_context(team.organization.schema_name):
        return (
            sorted(TaskRelation.objects.values_list("source__number", "target__number", "kind")),
            sorted(Task.objects.values_list("project__key", "number", "status", "version")),
            Activity.objects.count(),
        )


def _owner(team):
    return client_for(team.organization, User.objects.get(email="owner@alpha.test"))


@pytest.mark.django_db
def test_blocked_by_an_open_task_shows_on_both_ends_and_on_the_card(team):
    blocker, blocked = team.task("Design the API"), team.task("Build the client")
    dev = team.client("Developer")
    response = dev.post(_url(blocked.number), {"kind": "blocked_by", "task": blocker.key}, content_type=JSON)
    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["task"]["key"], response.json()["open"]) == (
        "blocked_by",
        "WEB-1",
        True,
    )
    assert [(r["kind"], r["task"]["key"]) for r in dev.get(_url(blocker.number)).json()] == [("blocks", "WEB-2")]
    detail = dev.get(f"/api/v1/projects/WEB/tasks/{blocked.number}/").json()
    assert detail["blocked_by"] == ["WEB-1"]
    listed = {t["key"]: t["blocked_by"] for t in dev.get("/api/v1/projects/WEB/tasks/").json()["results"]}
    assert listed == {"WEB-1": [], "WEB-2": ["WEB-1"]}
    board = dev.get("/projects/WEB/").text
    assert "Blocked by WEB-1" in board
    page = dev.get(f"/tasks/{blocked.key}/").text
    assert "Blocked by" in page
    assert "WEB-1" in page
    with schema_context(team.organization.schema_name):
        assert Activity.objects.filter(kind="relation_added").count() == 2
    # Once the blocker is done, it no longer blocks.
    dev.patch(f"/api/v1/projects/WEB/tasks/{blocker.number}/", {"status": "done"}, content_type=JSON)
    assert dev.get(f"/api/v1/projects/WEB/tasks/{blocked.number}/").json()["blocked_by"] == []


@pytest.mark.django_db
def test_marking_a_duplicate_closes_it_with_the_link(team):
    original, duplicate = team.task("Login fails"), team.task("Cannot log in")
    dev = team.client("Developer")
    response = dev.post(_url(duplicate.number), {"kind": "duplicates", "task": original.key}, content_type=JSON)
    assert response.status_code == 201, response.content
    with schema_context(team.organization.schema_name):
        duplicate.refresh_from_db()
        original.refresh_from_db()
        assert (duplicate.state.name, duplicate.status) == ("Cancelled", "cancelled")
        assert original.status == "todo"
    assert [(r["kind"], r["task"]["key"]) for r in dev.get(_url(original.number)).json()] == [
        ("duplicated_by", "WEB-2")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "blocks", "task": "WEB-1"},  # itself
        {"kind": "blocks", "task": "WEB-999"},
        {"kind": "blocks", "task": "nonsense"},
        {"kind": "depends_on", "task": "WEB-2"},
        {"kind": "blocks"},
        {"kind": "blocks", "task": "WEB-2", "extra": 1},
        {"kind": "relates_to", "task": "WEB-2"},  # the pair is linked already (other kind, other way)
    ],
)
def test_relation_bad_input_is_a_400_and_changes_nothing(team, payload):
    first, second = team.task("One"), team.task("Two")
    dev = team.client("Developer")
    assert dev.post(_url(second.number), {"kind": "blocks", "task": first.key}, content_type=JSON).status_code == 201
    before = _world(team)
    response = dev.post(_url(first.number), payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert _world(team) == before


@pytest.mark.django_db
def test_relations_across_projects_need_seeing_both_and_other_organisations_are_404(team, org_b):
    web = team.task("Web task")
    ops = team.task("Ops task", project=team.ops)
    guest = team.members["guest"]
    with schema_context(team.organization.schema_name):
        project_member_set(project=team.web, member=guest, role=Role.objects.get(name="Developer"))
    before = _world(team)
    # A guest who is not in OPS cannot name its tasks (the same answer as a missing one).
    refused = team.client("guest").post(_url(web.number), {"kind": "relates_to", "task": ops.key}, content_type=JSON)
    assert refused.status_code == 400
    assert refused.json()["task"] == ["No such task."]
    assert _world(team) == before
    # A member who sees both may relate them, across projects.
    allowed = team.client("Developer").post(
        _url(web.number), {"kind": "relates_to", "task": ops.key}, content_type=JSON
    )
    assert allowed.status_code == 201, allowed.content
    # The guest does not see the relation to the OPS task.
    assert team.client("guest").get(_url(web.number)).json() == []
    # Another organisation: 404, nothing changed.
    outsider = UserFactory(email="outsider@bravo.test")
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    before = _world(team)
    other = client_for(org_b, outsider)
    assert other.get(_url(web.number)).status_code == 404
    assert other.post(_url(web.number), {"kind": "blocks", "task": ops.key}, content_type=JSON).status_code == 404
    assert _world(team) == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Reporter", "Viewer"])
def test_relations_need_task_edit(team, role):
    first, second = team.task("One"), team.task("Two")
    relation = (
        team.client("Developer")
        .post(_url(first.number), {"kind": "blocks", "task": second.key}, content_type=JSON)
        .json()
    )
    before = _world(team)
    client = team.client(role)
    assert client.get(_url(first.number)).status_code == 200
    assert (
        client.post(_url(first.number), {"kind": "relates_to", "task": "OPS-1"}, content_type=JSON).status_code == 403
    )
    assert client.delete(f"{_url(first.number)}{relation['id']}/").status_code == 403
    page = client.post(f"/tasks/{first.key}/relation-remove/", {"relation": relation["id"]})
    assert page.status_code == 403
    assert _world(team) == before


@pytest.mark.django_db
def test_removing_a_relation_writes_activity_on_both_tasks(team):
    first, second, third = team.task("One"), team.task("Two"), team.task("Three")
    dev = team.client("Developer")
    relation = dev.post(_url(first.number), {"kind": "blocks", "task": second.key}, content_type=JSON).json()
    # Not a relation of this task: 404.
    assert dev.delete(f"{_url(third.number)}{relation['id']}/").status_code == 404
    assert dev.delete(f"{_url(second.number)}{relation['id']}/").status_code == 204
    with schema_context(team.organization.schema_name):
        assert not TaskRelation.objects.exists()
        assert sorted(Activity.objects.filter(kind="relation_removed").values_list("task__number", "new_value")) == [
            (1, {"kind": "blocks", "task": "WEB-2"}),
            (2, {"kind": "blocked_by", "task": "WEB-1"}),
        ]


@pytest.mark.django_db
def test_the_task_page_adds_and_removes_relations_with_inline_errors(team):
    first, second = team.task("One"), team.task("Two")
    dev = team.client("Developer")
    bad = dev.post(f"/tasks/{first.key}/relation-add/", {"kind": "blocks", "task": "WEB-404"})
    assert bad.status_code == 400
    assert "No such task." in bad.text
    ok = dev.post(f"/tasks/{first.key}/relation-add/", {"kind": "blocked_by", "task": second.key})
    assert ok.status_code == 302
    with schema_context(team.organization.schema_name):
        relation = TaskRelation.objects.get()
        assert (relation.source_id, relation.target_id, relation.kind) == (second.pk, first.pk, "blocks")
    assert dev.post(f"/tasks/{first.key}/relation-remove/", {"relation": relation.pk}).status_code == 302
    with schema_context(team.organization.schema_name):
        assert not TaskRelation.objects.exists()


def _board_queries(client) -> int:
    """The board's statements once warm (the filter bar's cache follows the project's
    live version, which every write bumps: the first page after a write reads it again)."""
    client.get("/projects/WEB/")
    client.get("/projects/WEB/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/projects/WEB/").status_code == 200
    return len(captured)


@pytest.mark.django_db
def test_relation_list_and_board_queries_stay_constant(team):
    dev = team.client("Developer")
    hub = team.task("Hub")
    team.task("first blocker")
    dev.post(_url(hub.number), {"kind": "blocked_by", "task": "WEB-2"}, content_type=JSON)
    dev.get(_url(hub.number))
    with CaptureQueriesContext(connection) as few:
        dev.get(_url(hub.number))
    board_few = _board_queries(dev)
    for index in range(5):
        other = team.task(f"blocker {index}")
        dev.post(_url(hub.number), {"kind": "blocked_by", "task": other.key}, content_type=JSON)
    with CaptureQueriesContext(connection) as many:
        assert len(dev.get(_url(hub.number)).json()) == 6
    assert len(many) == len(few)
    assert _board_queries(dev) == board_few
    assert "Blocked by WEB-2, WEB-3, WEB-4, WEB-5, WEB-6, WEB-7" in dev.get("/projects/WEB/").text
