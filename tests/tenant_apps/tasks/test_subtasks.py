"""Sub-tasks through the API: parent writable (any project of the organisation the
person sees), no cycles (also under concurrency), progress, closing a parent with open
sub-tasks asks first, the children endpoint and the `parent` filter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.services import project_create
from tenant_apps.tasks.models import Activity, Task
from tenant_apps.tasks.services import task_create, task_update
from tenant_apps.timetracking.services import time_entry_create
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import run_together
from tests.tenant_apps.tasks.test_api import Team

JSON = "application/json"
BASE = "/api/v1/projects/WEB/tasks/"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _parents(team) -> dict:
    with schema_context(team.organization.schema_name):
        return {
            f"{t.project.key}-{t.number}": (t.parent.key if t.parent else None)
            for t in Task.objects.select_related("project", "parent__project")
        }


@pytest.mark.django_db
def test_subtasks_at_any_depth_with_progress_and_children(team):
    dev = team.client("Developer")
    parent = dev.post(BASE, {"title": "Epic"}, content_type=JSON).json()
    child = dev.post(BASE, {"title": "Part one", "parent": parent["key"]}, content_type=JSON)
    assert child.status_code == 201, child.content
    assert child.json()["parent"] == "WEB-1"
    dev.post(BASE, {"title": "Part two", "parent": "web-1"}, content_type=JSON)
    grandchild = dev.post(BASE, {"title": "Detail", "parent": "WEB-2"}, content_type=JSON).json()
    assert grandchild["parent"] == "WEB-2"
    # A parent in another project of the organisation is fine.
    ops = team.task("Ops parent", project=team.ops)
    moved = dev.patch(f"{BASE}3/", {"parent": f"OPS-{ops.number}"}, content_type=JSON)
    assert moved.status_code == 200, moved.content
    assert moved.json()["parent"] == "OPS-1"
    dev.patch(f"{BASE}3/", {"parent": "WEB-1"}, content_type=JSON)

    dev.patch(f"{BASE}2/", {"status": "done", "force": True}, content_type=JSON)
    detail = dev.get(f"{BASE}1/").json()
    assert detail["subtasks"] == {"closed": 1, "total": 2}
    children = dev.get(f"{BASE}1/children/").json()
    assert [(c["key"], c["subtasks"]) for c in children["results"]] == [
        ("WEB-2", {"closed": 0, "total": 1}),
        ("WEB-3", {"closed": 0, "total": 0}),
    ]
    keys = [t["key"] for t in dev.get(f"{BASE}?parent=WEB-1&ordering=number").json()["results"]]
    assert keys == ["WEB-2", "WEB-3"]
    top = [t["key"] for t in dev.get(f"{BASE}?parent=none&ordering=number").json()["results"]]
    assert top == ["WEB-1"]
    assert dev.get(f"{BASE}?parent=nonsense").status_code == 400
    assert dev.get(f"{BASE}1/children/?bogus=1").status_code == 400
    with schema_context(team.organization.schema_name):
        changes = set(Activity.objects.filter(field="parent").values_list("old_value", "new_value"))
    assert changes == {("WEB-1", "OPS-1"), ("OPS-1", "WEB-1")}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "parent"),
    [(1, "WEB-1"), (1, "WEB-2"), (1, "WEB-3"), (2, "WEB-3")],
)
def test_a_cycle_is_refused_and_nothing_changes(team, number, parent):
    team.task("root")
    team.client("Developer").post(BASE, {"title": "child", "parent": "WEB-1"}, content_type=JSON)
    team.client("Developer").post(BASE, {"title": "grandchild", "parent": "WEB-2"}, content_type=JSON)
    before, state = _parents(team), team.state()
    response = team.client("Developer").patch(f"{BASE}{number}/", {"parent": parent}, content_type=JSON)
    assert response.status_code == 400, response.content
    assert "cycle" in response.json()["parent"][0]
    assert (_parents(team), team.state()) == (before, state)


@pytest.mark.django_db
def test_parent_of_another_organisation_or_hidden_project_or_bad_value_is_refused(team, org_b):
    team.task("web")
    with schema_context(org_b.schema_name):
        owner_b = Member.objects.get(email="owner@bravo.test")
        secret = project_create(key="SEC", name="Secret", actor=owner_b)
        task_create(project=secret, actor=owner_b, title="bravo's")
    with schema_context(team.organization.schema_name):
        hidden = project_create(key="HID", name="Hidden", actor=team.owner_member)
        task_create(project=hidden, actor=team.owner_member, title="hidden")
    # The guest sees WEB only through... nothing: give them a project of their own.
    with schema_context(team.organization.schema_name):
        from tenant_apps.projects.models import Role
        from tenant_apps.projects.services import project_member_set

        project_member_set(project=team.web, member=team.members["guest"], role=Role.objects.get(name="Developer"))
    before, state = _parents(team), team.state()
    for who, parent in (
        ("Developer", "SEC-1"),  # bravo's task: another organisation
        ("Developer", "WEB-99"),
        ("guest", "HID-1"),  # a project the guest cannot see
        ("Developer", "not a key"),
        ("Developer", 12),
    ):
        response = team.client(who).patch(f"{BASE}1/", {"parent": parent}, content_type=JSON)
        assert response.status_code == 400, (who, parent, response.content)
        assert "parent" in response.json()
    assert (_parents(team), team.state()) == (before, state)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "allowed"), [("Developer", True), ("Reporter", False), ("Viewer", False)])
def test_setting_a_parent_needs_task_edit(team, role, allowed):
    team.task("a")
    team.task("b")
    before = _parents(team)
    response = team.client(role).patch(f"{BASE}2/", {"parent": "WEB-1"}, content_type=JSON)
    assert response.status_code == (200 if allowed else 403), response.content
    assert (_parents(team) != before) is allowed


@pytest.mark.django_db
def test_closing_a_parent_with_open_subtasks_asks_first(team):
    parent = team.task("Epic")
    with schema_context(team.organization.schema_name):
        open_child = task_create(project=team.web, actor=team.owner_member, title="open", parent=parent)
        done_child = task_create(project=team.web, actor=team.owner_member, title="done", parent=parent)
        Task.objects.filter(pk=done_child.pk).update(status="done")
    dev = team.client("Developer")
    state = team.state()
    refused = dev.patch(f"{BASE}{parent.number}/", {"status": "done"}, content_type=JSON)
    assert refused.status_code == 409
    body = refused.json()
    assert (body["code"], body["open_children"], body["open_children_count"]) == (
        "open_children",
        [open_child.key],
        1,
    )
    assert team.state() == state
    assert dev.patch(f"{BASE}{parent.number}/", {"status": "cancelled"}, content_type=JSON).status_code == 409
    confirmed = dev.patch(f"{BASE}{parent.number}/", {"status": "done", "force": True}, content_type=JSON)
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "done"
    # Once every sub-task is closed, no question is asked.
    dev.patch(f"{BASE}{parent.number}/", {"status": "todo"}, content_type=JSON)
    dev.patch(f"{BASE}{open_child.number}/", {"status": "cancelled"}, content_type=JSON)
    assert dev.patch(f"{BASE}{parent.number}/", {"status": "done"}, content_type=JSON).status_code == 200


@pytest.mark.django_db
def test_time_and_progress_roll_up_and_the_list_keeps_constant_queries(team):
    dev_member = team.members["Developer"]
    with schema_context(team.organization.schema_name):
        root = task_create(project=team.web, actor=team.owner_member, title="root", estimate=5)
        child = task_create(project=team.web, actor=team.owner_member, title="child", parent=root)
        grandchild = task_create(project=team.web, actor=team.owner_member, title="grandchild", parent=child)
        for task, minutes in ((root, 30), (child, 45), (grandchild, 60), (grandchild, 15)):
            time_entry_create(task=task, actor=dev_member, minutes=minutes, day=task.created_at.date())
    dev = team.client("Developer")
    detail = dev.get(f"{BASE}{root.number}/").json()
    assert (detail["time_spent_minutes"], detail["time_total_minutes"]) == (30, 150)
    assert (detail["estimate"], detail["estimate_unit"]) == (5.0, "points")
    assert dev.get(f"{BASE}{child.number}/").json()["time_total_minutes"] == 120

    for index in range(10):
        with schema_context(team.organization.schema_name):
            extra = task_create(project=team.web, actor=team.owner_member, title=f"more {index}", parent=root)
            time_entry_create(task=extra, actor=dev_member, minutes=10, day=extra.created_at.date())
    dev.get(BASE)
    counts = []
    for size in (2, 13):
        with CaptureQueriesContext(connection) as queries:
            response = dev.get(f"{BASE}?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
    rows = {t["key"]: t for t in dev.get(f"{BASE}?page_size=50").json()["results"]}
    assert rows[root.key]["time_total_minutes"] == 250
    assert rows[root.key]["subtasks"] == {"closed": 0, "total": 11}


@pytest.mark.django_db
def test_estimate_and_unit_bad_input_is_refused(team):
    team.task("a")
    dev = team.client("Developer")
    state = team.state()
    for payload in ({"estimate": -1}, {"estimate": "lots"}, {"estimate": 123456789}, {"force": "maybe"}):
        assert dev.patch(f"{BASE}1/", payload, content_type=JSON).status_code == 400, payload
    assert team.state() == state
    assert dev.patch(f"{BASE}1/", {"estimate": 2.5}, content_type=JSON).json()["estimate"] == 2.5
    pm = team.client("Project Manager")
    assert pm.patch("/api/v1/projects/WEB/", {"estimate_unit": "days"}, content_type=JSON).status_code == 400
    assert dev.patch("/api/v1/projects/WEB/", {"estimate_unit": "hours"}, content_type=JSON).status_code == 403
    assert (
        pm.patch("/api/v1/projects/WEB/", {"estimate_unit": "hours"}, content_type=JSON).json()["estimate_unit"]
        == "hours"
    )
    assert dev.get(f"{BASE}1/").json()["estimate_unit"] == "hours"


@pytest.mark.django_db
def test_children_of_another_organisation_are_unreachable(team, org_b):
    team.task("web")
    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    client = client_for(team.organization, outsider)
    assert client.get(f"{BASE}1/children/").status_code == 403
    assert client.get(f"{BASE}?parent=WEB-1").status_code == 403
    assert client_for(org_b, outsider).get(f"{BASE}1/children/").status_code == 404


def test_concurrent_opposite_reparenting_never_makes_a_cycle(committed):
    organization = Organization.objects.get(slug="alpha")
    with schema_context(organization.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project = project_create(key="TREE", name="Tree", actor=owner)
        a = task_create(project=project, actor=owner, title="a")
        b = task_create(project=project, actor=owner, title="b")

    def reparent(index: int):
        with schema_context(organization.schema_name):
            task, parent = (a, b) if index == 0 else (b, a)
            return task_update(task=task, actor=owner, data={"parent": parent}).parent_id

    try:
        results = run_together(2, reparent)
        failures = [r for r in results if isinstance(r, Exception)]
        assert len(failures) == 1, results
        assert "cycle" in str(failures[0])
        with schema_context(organization.schema_name):
            parents = dict(Task.objects.filter(project=project).values_list("pk", "parent_id"))
        assert sorted(v is None for v in parents.values()) == [False, True], parents
    finally:
        with schema_context(organization.schema_name):
            Project.objects.filter(pk=project.pk).delete()


def _totals_match_the_entries(team) -> dict:
    from tenant_apps.timetracking.selectors import time_totals, time_totals_recomputed

    with schema_context(team.organization.schema_name):
        kept = {}
        for task in Task.objects.select_related("project"):
            assert time_totals(task) == time_totals_recomputed(task), task.key
            kept[task.key] = time_totals(task)["total"]
    return kept


@pytest.mark.django_db
def test_rolled_up_time_follows_moves_edits_and_deletions(team):
    from tenant_apps.projects.services import project_delete
    from tenant_apps.tasks.services import task_delete
    from tenant_apps.timetracking.services import time_entry_delete, time_entry_update

    owner = dev = team.owner_member  # time anywhere in the organisation
    with schema_context(team.organization.schema_name):
        a = task_create(project=team.web, actor=owner, title="a")  # WEB-1
        b = task_create(project=team.web, actor=owner, title="b", parent=a)  # WEB-2
        c = task_create(project=team.ops, actor=owner, title="c", parent=b)  # OPS-1, under WEB-2
        d = task_create(project=team.web, actor=owner, title="d", parent=c)  # WEB-3
        other = task_create(project=team.web, actor=owner, title="other")  # WEB-4
        day = a.created_at.date()
        entries = [
            time_entry_create(task=t, actor=dev, minutes=m, day=day) for t, m in ((a, 1), (b, 10), (c, 100), (d, 1000))
        ]
    assert _totals_match_the_entries(team)["WEB-1"] == 1111
    with schema_context(team.organization.schema_name):
        time_entry_update(entry=entries[3], actor=dev, minutes=1200)
        time_entry_delete(entry=entries[1], actor=dev)
    assert _totals_match_the_entries(team)["WEB-1"] == 1301
    with schema_context(team.organization.schema_name):
        task_update(task=c, actor=owner, data={"parent": other})  # c and d move under WEB-4
    assert _totals_match_the_entries(team) == {"WEB-1": 1, "WEB-2": 0, "OPS-1": 1300, "WEB-3": 1200, "WEB-4": 1300}
    with schema_context(team.organization.schema_name):
        task_delete(task=Task.objects.get(pk=c.pk), actor=owner)  # d becomes top-level
    assert _totals_match_the_entries(team) == {"WEB-1": 1, "WEB-2": 0, "WEB-3": 1200, "WEB-4": 0}
    with schema_context(team.organization.schema_name):
        e = task_create(project=team.ops, actor=owner, title="e", parent=other)  # OPS-2 under WEB-4
        time_entry_create(task=e, actor=dev, minutes=7, day=day)
        task_update(task=Task.objects.get(pk=d.pk), actor=owner, data={"parent": e})
        task_update(task=Task.objects.get(pk=d.pk), actor=owner, data={"title": "renamed"})  # no total written
    assert _totals_match_the_entries(team)["WEB-4"] == 1207
    with schema_context(team.organization.schema_name):
        project_delete(project=Project.objects.get(key="OPS"), confirm_key="OPS", actor=owner)
    assert _totals_match_the_entries(team) == {"WEB-1": 1, "WEB-2": 0, "WEB-3": 1200, "WEB-4": 0}
