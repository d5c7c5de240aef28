"""Workflow states (issue 15 item 1): the five defaults, the states API, tasks' state and
status (category) written together, deleting a state with its tasks moved, and the
status -> state data migration run on a schema holding tasks."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.audit.models import AuditEntry
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, WorkflowState
from tenant_apps.projects.services import project_create
from tenant_apps.tasks.models import Activity, Task, TaskStatus
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.tenant_apps.tasks.test_api import JSON, Team

STATES = "/api/v1/projects/WEB/states/"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _states(team, key="WEB") -> list[tuple]:
    with schema_context(team.organization.schema_name):
        return list(
            WorkflowState.objects.filter(project__key=key)
            .order_by("position")
            .values_list("name", "category", "position", "colour")
        )


def _state_id(team, name, key="WEB") -> int:
    with schema_context(team.organization.schema_name):
        return WorkflowState.objects.get(project__key=key, name=name).pk


def _world(team) -> tuple:
    with schema_context(team.organization.schema_name):
        return (
            sorted(WorkflowState.objects.values_list("project__key", "name", "category", "position", "colour")),
            sorted(
                Task.objects.values_list("project__key", "number", "state__name", "status", "completed_at", "version")
            ),
            Activity.objects.count(),
        )


@pytest.mark.django_db
def test_new_project_gets_the_five_default_states(team):
    assert [(name, category, position) for name, category, position, _colour in _states(team)] == [
        ("To do", "todo", 0),
        ("In progress", "in_progress", 1),
        ("In review", "in_progress", 2),
        ("Done", "done", 3),
        ("Cancelled", "cancelled", 4),
    ]
    listed = team.client("Viewer").get(STATES).json()
    assert [item["name"] for item in listed] == ["To do", "In progress", "In review", "Done", "Cancelled"]
    assert set(listed[0]) == {"id", "name", "colour", "position", "category"}


@pytest.mark.django_db
def test_tasks_take_a_state_and_its_category_together(team):
    dev = team.client("Developer")
    review = _state_id(team, "In review")
    created = dev.post("/api/v1/projects/WEB/tasks/", {"title": "Ship", "state": review}, content_type=JSON).json()
    assert (created["state"]["name"], created["status"]) == ("In review", "in_progress")
    plain = dev.post("/api/v1/projects/WEB/tasks/", {"title": "Plain"}, content_type=JSON).json()
    assert (plain["state"]["name"], plain["status"]) == ("To do", "todo")

    url = f"/api/v1/projects/WEB/tasks/{created['number']}/"
    done = dev.patch(url, {"state": _state_id(team, "Done")}, content_type=JSON).json()
    assert (done["state"]["name"], done["status"]) == ("Done", "done")
    assert done["completed_at"] is not None
    # `status` alone: the project's first state of the category; completed_at cleared.
    back = dev.patch(url, {"status": "in_progress"}, content_type=JSON).json()
    assert (back["state"]["name"], back["status"], back["completed_at"]) == ("In progress", "in_progress", None)
    # The same category again keeps the state.
    dev.patch(url, {"state": review}, content_type=JSON)
    same = dev.patch(url, {"status": "in_progress"}, content_type=JSON).json()
    assert same["state"]["name"] == "In review"
    history = [
        (item["field"], item["old_value"], item["new_value"])
        for item in dev.get(f"{url}activity/").json()["results"]
        if item["field"] == "state"
    ]
    assert history == [
        ("state", "In progress", "In review"),
        ("state", "Done", "In progress"),
        ("state", "In review", "Done"),
    ]

    # Filters: by state id, by category (`category` and its alias `status`).
    ids = lambda query: sorted(t["number"] for t in dev.get(f"/api/v1/projects/WEB/tasks/?{query}").json()["results"])  # noqa: E731
    assert ids(f"state={review}") == [created["number"]]
    assert ids("category=todo") == [plain["number"]]
    assert ids("status=in_progress") == [created["number"]]
    assert ids("category=done") == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [{"state": 999999}, {"state": "x"}, {"status": "in_review"}, {"status": "backlog"}],
)
def test_task_state_bad_input_is_a_400_and_changes_nothing(team, payload):
    task = team.task("One")
    before = _world(team)
    response = team.client("Developer").patch(f"/api/v1/projects/WEB/tasks/{task.number}/", payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert _world(team) == before


@pytest.mark.django_db
def test_a_state_of_another_project_is_refused(team):
    task = team.task("One")
    ops_done = _state_id(team, "Done", key="OPS")
    before = _world(team)
    response = team.client("Project Manager").patch(
        f"/api/v1/projects/WEB/tasks/{task.number}/", {"state": ops_done}, content_type=JSON
    )
    assert response.status_code == 400
    assert "state" in response.json()
    assert _world(team) == before


@pytest.mark.django_db
def test_project_managers_add_rename_reorder_and_recategorise_states(team):
    pm = team.client("Project Manager")
    added = pm.post(
        STATES, {"name": "QA", "category": "in_progress", "position": 3, "colour": "#AA00FF"}, content_type=JSON
    )
    assert added.status_code == 201, added.content
    assert [name for name, *_rest in _states(team)] == ["To do", "In progress", "In review", "QA", "Done", "Cancelled"]
    assert added.json()["colour"] == "#aa00ff"
    qa = added.json()["id"]
    with schema_context(team.organization.schema_name):
        qa_state = WorkflowState.objects.get(pk=qa)
    task = team.task("Check", state=qa_state)
    moved = pm.patch(f"{STATES}{qa}/", {"name": "Testing", "position": 0, "category": "done"}, content_type=JSON)
    assert moved.status_code == 200, moved.content
    assert [name for name, *_rest in _states(team)] == [
        "Testing",
        "To do",
        "In progress",
        "In review",
        "Done",
        "Cancelled",
    ]
    with schema_context(team.organization.schema_name):
        task.refresh_from_db()
        assert (task.status, task.completed_at is not None) == ("done", True)
        assert list(
            AuditEntry.objects.filter(action__startswith="workflow_state.").values_list("action", flat=True)
        ) == [
            "workflow_state.changed",
            "workflow_state.created",
        ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"name": "", "category": "todo"},
        {"name": "to do", "category": "todo"},  # taken, case-insensitively
        {"name": "x" * 41, "category": "todo"},
        {"name": "New", "category": "in_review"},
        {"name": "New"},
        {"name": "New", "category": "todo", "colour": "red"},
        {"name": "New", "category": "todo", "surprise": 1},
    ],
)
def test_state_create_refuses_bad_input(team, payload):
    before = _world(team)
    response = team.client("Project Manager").post(STATES, payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert _world(team) == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Developer", "Reporter", "Viewer"])
def test_states_are_managed_only_with_project_manage(team, role):
    client = team.client(role)
    state = _state_id(team, "In review")
    before = _world(team)
    assert client.get(STATES).status_code == 200
    assert client.post(STATES, {"name": "QA", "category": "todo"}, content_type=JSON).status_code == 403
    assert client.patch(f"{STATES}{state}/", {"name": "QA"}, content_type=JSON).status_code == 403
    assert client.delete(f"{STATES}{state}/?move_to={_state_id(team, 'Done')}").status_code == 403
    assert _world(team) == before
    assert team.client("guest").get(STATES).status_code == 404


@pytest.mark.django_db
def test_states_of_another_organisation_or_project_are_unreachable(team, org_b):
    outsider = UserFactory(email="outsider@bravo.test")
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    state = _state_id(team, "In review")
    before = _world(team)
    other = client_for(org_b, outsider)
    assert other.get(STATES).status_code == 404
    assert other.patch(f"{STATES}{state}/", {"name": "x"}, content_type=JSON).status_code == 404
    # Alpha's own domain refuses a non-member.
    assert client_for(team.organization, outsider).get(STATES).status_code in (403, 404)
    # A WEB state under OPS's address: 404 (for the owner, who manages OPS).
    pm = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    assert pm.patch(f"/api/v1/projects/OPS/states/{state}/", {"name": "x"}, content_type=JSON).status_code == 404
    assert _world(team) == before


@pytest.mark.django_db
def test_deleting_a_state_moves_its_tasks_in_one_go(team):
    pm = team.client("Project Manager")
    review, done = _state_id(team, "In review"), _state_id(team, "Done")
    with schema_context(team.organization.schema_name):
        in_review = WorkflowState.objects.get(pk=review)
    tasks = [team.task(f"Review {n}", state=in_review) for n in range(3)]
    other = team.task("Stays")
    before = _world(team)
    # Tasks in it: the target is required, and must be another state of this project.
    for query in ("", f"?move_to={review}", f"?move_to={_state_id(team, 'Done', key='OPS')}", "?move_to=abc"):
        response = pm.delete(f"{STATES}{review}/{query}")
        assert response.status_code == 400, (query, response.content)
        assert _world(team) == before
    response = pm.delete(f"{STATES}{review}/", {"move_to": done}, content_type=JSON)
    assert response.status_code == 204, response.content
    assert [name for name, *_rest in _states(team)] == ["To do", "In progress", "Done", "Cancelled"]
    assert [position for _name, _category, position, _colour in _states(team)] == [0, 1, 2, 3]
    with schema_context(team.organization.schema_name):
        for task in tasks:
            task.refresh_from_db()
            assert (task.state_id, task.status, task.completed_at is not None, task.version) == (done, "done", True, 2)
            assert Activity.objects.filter(task=task, field="state", old_value="In review", new_value="Done").exists()
        other.refresh_from_db()
        assert (other.state.name, other.version) == ("To do", 1)
        entry = AuditEntry.objects.get(action="workflow_state.deleted")
        assert entry.after == {"moved_to": "Done", "tasks": 3}


@pytest.mark.django_db
def test_the_last_state_cannot_be_deleted(team):
    pm = team.client("Project Manager")
    ids = [_state_id(team, name) for name in ("To do", "In progress", "In review", "Done")]
    for state in ids:
        assert pm.delete(f"{STATES}{state}/").status_code == 204
    last = _state_id(team, "Cancelled")
    response = pm.delete(f"{STATES}{last}/")
    assert response.status_code == 400
    assert _states(team)[0][0] == "Cancelled"
    # New tasks then start in the only state there is.
    created = team.client("Developer").post("/api/v1/projects/WEB/tasks/", {"title": "x"}, content_type=JSON)
    assert created.status_code == 201
    assert created.json()["status"] == "cancelled"


@pytest.mark.django_db
def test_moving_a_task_to_another_project_keeps_its_category(team):
    with schema_context(team.organization.schema_name):
        review = WorkflowState.objects.get(project=team.web, name="In review")
    task = team.task("Moving", state=review)
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    response = owner.post(f"/api/v1/projects/WEB/tasks/{task.number}/move/", {"project": "OPS"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert (response.json()["state"]["name"], response.json()["status"]) == ("In progress", "in_progress")


@pytest.mark.django_db
def test_state_list_queries_do_not_grow(team):
    client = team.client("Viewer")
    client.get(STATES)
    with CaptureQueriesContext(connection) as few:
        client.get(STATES)
    for n in range(5):
        team.client("Project Manager").post(STATES, {"name": f"Extra {n}", "category": "todo"}, content_type=JSON)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(STATES).json()) == 10
    assert len(many) == len(few)


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _latest() -> list[tuple[str, str]]:
    """The newest migrations of tasks and projects (later ones included, whoever adds them)."""
    graph = MigrationExecutor(connection).loader.graph
    return [node for node in graph.leaf_nodes() if node[0] in ("tasks", "projects")]


@pytest.mark.django_db
def test_status_to_state_migration_maps_existing_tasks_back_and_forth(org_b):
    """Run on a schema holding data: back to before workflow states, tasks inserted with
    the old five statuses (in_review included), forward again."""
    with schema_context(org_b.schema_name):
        member = Member.objects.first()
        project = project_create(key="MIG", name="Migrated", actor=member)
        project_id = project.pk
        with connection.cursor() as cursor:  # the states' inserts must not be pending when the table goes
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Back to tasks 0007 / projects 0003 (the states table and Task.state go).
        _migrate([("tasks", "0007_task_rank"), ("projects", "0003_project_task_sequence")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
                           "AND table_name = 'tasks_task' AND column_name = 'state_id'")  # fmt: skip
            assert cursor.fetchone()[0] == 0
            old = ["todo", "in_progress", "in_review", "done", "cancelled", "in_review"]
            for number, status in enumerate(old, start=1):
                cursor.execute(
                    "INSERT INTO tasks_task (project_id, number, title, description, status, priority, created_at,"
                    " updated_at, completed_at, rank, version) VALUES (%s, %s, %s, '', %s, 0, now(), now(),"
                    " CASE WHEN %s = 'done' THEN now() END, %s, 1)",
                    [project_id, number, f"Task {number}", status, status, f"j{number:010d}"],
                )
            # Deferred foreign-key checks of the inserts must not be pending when the
            # migrations alter the table (a real migrate commits between migrations).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _migrate(_latest())
        rows = list(Task.objects.filter(project_id=project_id).order_by("number").values_list("state__name", "status"))
        assert rows == [
            ("To do", "todo"),
            ("In progress", "in_progress"),
            ("In review", "in_progress"),
            ("Done", "done"),
            ("Cancelled", "cancelled"),
            ("In review", "in_progress"),
        ]
        assert Project.objects.get(pk=project_id).states.count() == 5
        # And back: the old statuses return (in review included).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _migrate([("tasks", "0007_task_rank"), ("projects", "0003_project_task_sequence")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM tasks_task WHERE project_id = %s ORDER BY number", [project_id])
            assert [row[0] for row in cursor.fetchall()] == old
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _migrate(_latest())
        assert TaskStatus.DONE in set(Task.objects.filter(project_id=project_id).values_list("status", flat=True))
