import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.accounts.tokens import api_token_create
from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, Role
from tenant_apps.projects.services import project_create, project_member_set
from tenant_apps.tasks.models import Activity, Task
from tenant_apps.tasks.services import task_create
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import assert_allowed_or_refused, run_together

JSON = "application/json"


class Team:
    """Alpha's project WEB with one person per project role (all organisation members),
    plus a guest outside the project and a second project OPS."""

    def __init__(self, organization):
        self.organization = organization
        self.users = {}
        self.members = {}
        with schema_context(organization.schema_name):
            self.owner_member = Member.objects.get(email="owner@alpha.test")
            self.web = project_create(key="WEB", name="Website", actor=self.owner_member)
            self.ops = project_create(key="OPS", name="Operations", actor=self.owner_member)
        for name in ("Project Manager", "Developer", "Reporter", "Viewer", "guest"):
            user = UserFactory(email=f"{name.replace(' ', '').lower()}@alpha.test", full_name=name)
            membership_add(
                organization=organization, user=user, role=OrgRole.GUEST if name == "guest" else OrgRole.MEMBER
            )
            with schema_context(organization.schema_name):
                member = Member.objects.get(user_id=user.pk)
                if name != "guest":
                    project_member_set(project=self.web, member=member, role=Role.objects.get(name=name))
            self.users[name] = user
            self.members[name] = member

    def client(self, name: str) -> Client:
        return client_for(self.organization, self.users[name])

    def task(self, title="A task", project=None, **kwargs) -> Task:
        with schema_context(self.organization.schema_name):
            return task_create(project=project or self.web, actor=self.owner_member, title=title, **kwargs)

    def state(self) -> tuple:
        with schema_context(self.organization.schema_name):
            return (
                sorted(Project.objects.values_list("key", "name", "archived", "lead_id")),
                sorted(Task.objects.values_list("project__key", "number", "title", "status", "version")),
                Activity.objects.count(),
            )


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


# --- Projects --------------------------------------------------------------------------


@pytest.mark.django_db
def test_project_create_makes_the_creator_project_manager(team):
    response = team.client("Developer").post(
        "/api/v1/projects/", {"key": "API", "name": "Public API"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    assert response.json()["key"] == "API"
    members = team.client("Developer").get("/api/v1/projects/API/members/").json()["results"]
    assert [(item["email"], item["role"]) for item in members] == [("developer@alpha.test", "Project Manager")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "web2", "name": "x"}, "key"),
        ({"key": "W", "name": "x"}, "key"),
        ({"key": "ABCDEFGHIJK", "name": "x"}, "key"),
        ({"key": "1AB", "name": "x"}, "key"),
        ({"key": "WEB", "name": "Again"}, "key"),
        ({"key": "NEW"}, "name"),
        ({"key": "NEW", "name": "x" * 201}, "name"),
    ],
)
def test_project_create_refuses_bad_input(team, payload, field):
    before = team.state()
    response = team.client("Developer").post("/api/v1/projects/", payload, content_type=JSON)
    assert response.status_code == 400
    assert field in response.json()
    assert team.state() == before


@pytest.mark.django_db
def test_guests_cannot_create_projects_and_see_only_theirs(team):
    before = team.state()
    assert (
        team.client("guest").post("/api/v1/projects/", {"key": "G", "name": "x"}, content_type=JSON).status_code == 403
    )
    assert team.state() == before
    assert team.client("guest").get("/api/v1/projects/").json()["count"] == 0
    with schema_context(team.organization.schema_name):
        project_member_set(project=team.ops, member=team.members["guest"], role=Role.objects.get(name="Viewer"))
    assert [p["key"] for p in team.client("guest").get("/api/v1/projects/").json()["results"]] == ["OPS"]
    assert team.client("guest").get("/api/v1/projects/WEB/").status_code == 404


@pytest.mark.django_db
def test_project_list_shows_task_counts_with_constant_queries(team):
    client = team.client("Viewer")
    team.task("one")
    team.task("two", status="done")
    team.task("three", project=team.ops)
    first = client.get("/api/v1/projects/").json()["results"]
    assert {p["key"]: p["task_counts"] for p in first} == {"OPS": {"todo": 1}, "WEB": {"todo": 1, "done": 1}}

    team.task("four")  # invalidates the cached counts
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/api/v1/projects/").json()["results"]
    assert {p["key"]: p["task_counts"] for p in again}["WEB"] == {"todo": 2, "done": 1}
    # search_path, user, task counts (session, membership, member and the projects
    # from the cache)
    assert len(queries.captured_queries) == 3, [q["sql"] for q in queries.captured_queries]
    with CaptureQueriesContext(connection) as cached:
        client.get("/api/v1/projects/")
    assert len(cached.captured_queries) == 2  # counts from the cache too


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "allowed"), [("Project Manager", True), ("Developer", False), ("Viewer", False)])
def test_project_update_needs_project_manage(team, role, allowed):
    client = team.client(role)
    calls = [
        lambda: client.patch("/api/v1/projects/WEB/", {"name": "Web site"}, content_type=JSON),
        lambda: client.patch("/api/v1/projects/WEB/", {"archived": True}, content_type=JSON),
        lambda: client.patch("/api/v1/projects/WEB/", {"archived": False}, content_type=JSON),
    ]
    assert_allowed_or_refused(calls, allowed=allowed, state=team.state)


@pytest.mark.django_db
def test_archived_projects_take_no_new_tasks_and_can_be_filtered(team):
    pm = team.client("Project Manager")
    assert pm.patch("/api/v1/projects/WEB/", {"archived": True}, content_type=JSON).json()["archived"] is True
    refused = pm.post("/api/v1/projects/WEB/tasks/", {"title": "late"}, content_type=JSON)
    assert refused.status_code == 400
    assert "archived" in str(refused.json())
    assert [p["key"] for p in pm.get("/api/v1/projects/?archived=true").json()["results"]] == ["WEB"]
    assert pm.get("/api/v1/projects/?archived=maybe").status_code == 400


@pytest.mark.django_db
def test_project_lead_must_be_a_project_member(team):
    pm = team.client("Project Manager")
    assert (
        pm.patch("/api/v1/projects/WEB/", {"lead_id": team.members["guest"].pk}, content_type=JSON).status_code == 400
    )
    assert pm.patch("/api/v1/projects/WEB/", {"lead_id": 999999}, content_type=JSON).status_code == 400
    ok = pm.patch("/api/v1/projects/WEB/", {"lead_id": team.members["Developer"].pk}, content_type=JSON)
    assert ok.json()["lead_id"] == team.members["Developer"].pk


@pytest.mark.django_db
def test_project_delete_needs_the_key_repeated_and_takes_the_tasks(team):
    team.task("doomed")
    pm = team.client("Project Manager")
    before = team.state()
    assert pm.delete("/api/v1/projects/WEB/").status_code == 400
    assert pm.delete("/api/v1/projects/WEB/?confirm=OPS").status_code == 400
    assert team.client("Developer").delete("/api/v1/projects/WEB/?confirm=WEB").status_code == 403
    assert team.state() == before

    assert pm.delete("/api/v1/projects/WEB/?confirm=WEB").status_code == 204
    with schema_context(team.organization.schema_name):
        assert not Project.objects.filter(key="WEB").exists()
        assert not Task.objects.filter(title="doomed").exists()


# --- Tasks -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_task_create_numbers_per_project_and_shows_everything(team):
    dev = team.client("Developer")
    first = dev.post("/api/v1/projects/WEB/tasks/", {"title": "First"}, content_type=JSON)
    second = dev.post(
        "/api/v1/projects/WEB/tasks/",
        {
            "title": "Second",
            "description": "**bold**",
            "priority": "urgent",
            "due_date": "2026-12-24",
            "assignee_ids": [team.members["Developer"].pk],
        },
        content_type=JSON,
    )
    # The developer has no role in OPS: seeing it is not creating in it.
    assert dev.post("/api/v1/projects/OPS/tasks/", {"title": "Elsewhere"}, content_type=JSON).status_code == 403
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    other = owner.post("/api/v1/projects/OPS/tasks/", {"title": "Elsewhere"}, content_type=JSON)

    assert first.status_code == 201, first.content
    assert (first.json()["key"], second.json()["key"], other.json()["key"]) == ("WEB-1", "WEB-2", "OPS-1")
    body = second.json()
    assert body["priority"] == "urgent"
    assert body["description"] == "**bold**"  # stored raw
    assert body["reporter"]["email"] == "developer@alpha.test"
    assert [a["email"] for a in body["assignees"]] == ["developer@alpha.test"]
    with schema_context(team.organization.schema_name):
        stored = Task.objects.get(project__key="WEB", number=2)
    assert second["ETag"] == f'"{stored.pk}.{stored.version}"'
    assert body["version"] == stored.version == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "x", "status": "later"}, "status"),
        ({"title": "x", "priority": "extreme"}, "priority"),
        ({"title": "x", "due_date": "soon"}, "due_date"),
        ({"title": "x", "assignee_ids": [999999]}, "assignee_ids"),
        ({"title": "x", "assignee_ids": ["me"]}, "assignee_ids"),
        ({"title": "x", "label_ids": [999999]}, "label_ids"),
        ({"title": "x", "colour": "red"}, "colour"),
    ],
)
def test_task_create_refuses_bad_input(team, payload, field):
    before = team.state()
    response = team.client("Developer").post("/api/v1/projects/WEB/tasks/", payload, content_type=JSON)
    assert response.status_code == 400
    assert field in response.json()
    assert team.state() == before


@pytest.mark.django_db
def test_assigning_someone_outside_the_project_is_a_400(team):
    before = team.state()
    response = team.client("Developer").post(
        "/api/v1/projects/WEB/tasks/", {"title": "x", "assignee_ids": [team.members["guest"].pk]}, content_type=JSON
    )
    assert response.status_code == 400
    assert "Not members of this project" in str(response.json())
    assert team.state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "create", "assign", "edit", "status", "delete"),
    [
        ("Project Manager", True, True, True, True, True),
        ("Developer", True, True, True, True, False),
        ("Reporter", True, False, False, False, False),
        ("Viewer", False, False, False, False, False),
    ],
)
def test_role_matrix_for_task_endpoints(team, role, create, assign, edit, status, delete):
    client = team.client(role)
    base = "/api/v1/projects/WEB/tasks/"
    numbers = [team.task(f"existing {index}").number for index in range(4)]
    developer = team.members["Developer"].pk
    checks = [
        (create, lambda: client.post(base, {"title": "New"}, content_type=JSON)),
        (assign, lambda: client.patch(f"{base}{numbers[0]}/", {"assignee_ids": [developer]}, content_type=JSON)),
        (edit, lambda: client.patch(f"{base}{numbers[1]}/", {"title": "Renamed"}, content_type=JSON)),
        (status, lambda: client.patch(f"{base}{numbers[2]}/", {"status": "in_progress"}, content_type=JSON)),
        (delete, lambda: client.delete(f"{base}{numbers[3]}/")),
    ]
    for allowed, call in checks:
        assert_allowed_or_refused([call], allowed=allowed, state=team.state)
    assert client.get(base).status_code == 200
    assert client.get(f"{base}{numbers[1]}/").status_code == 200


@pytest.mark.django_db
def test_status_done_sets_completed_at_and_leaving_clears_it_with_activity(team):
    task = team.task("Ship it")
    dev = team.client("Developer")
    url = f"/api/v1/projects/WEB/tasks/{task.number}/"

    done = dev.patch(url, {"status": "done"}, content_type=JSON).json()
    assert done["completed_at"] is not None
    reopened = dev.patch(url, {"status": "in_progress", "title": "Ship it now"}, content_type=JSON).json()
    assert reopened["completed_at"] is None
    assert reopened["version"] == 3

    # A status change is a change of workflow state (its category follows).
    activity = dev.get(f"{url}activity/").json()["results"]
    changes = {(a["kind"], a["field"], a["old_value"], a["new_value"]) for a in activity}
    assert changes >= {
        ("changed", "state", "To do", "Done"),
        ("changed", "state", "Done", "In progress"),
        ("changed", "title", "Ship it", "Ship it now"),
    }
    assert len(activity) == 4
    assert activity[-1]["kind"] == "created"
    assert activity[0]["actor"]["email"] == "developer@alpha.test"


@pytest.mark.django_db
def test_stale_updates_get_412_and_change_nothing(team):
    task = team.task("Contested")
    dev = team.client("Developer")
    url = f"/api/v1/projects/WEB/tasks/{task.number}/"
    etag = dev.get(url)["ETag"]
    assert dev.patch(url, {"title": "Mine"}, content_type=JSON, HTTP_IF_MATCH=etag).status_code == 200

    before = team.state()
    stale_etag = dev.patch(url, {"title": "Theirs"}, content_type=JSON, HTTP_IF_MATCH=etag)
    stale_version = dev.patch(url, {"title": "Theirs", "version": 1}, content_type=JSON)
    assert stale_etag.status_code == 412
    assert stale_version.status_code == 412
    assert stale_version.json()["version"] == 2
    assert team.state() == before
    assert dev.patch(url, {"title": "Theirs", "version": 2}, content_type=JSON).status_code == 200


@pytest.mark.django_db
def test_tasks_of_another_project_or_organisation_are_unreachable(team, org_b):
    ops_task = team.task("Ops only", project=team.ops)
    web_task = team.task("Web task")
    pm = team.client("Project Manager")
    # OPS-1's number does not exist in WEB (WEB-1 does, so use OPS's second task).
    team.task("Ops two", project=team.ops)
    assert pm.get(f"/api/v1/projects/WEB/tasks/{ops_task.number + 1}/").status_code == 404

    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    _token, key = api_token_create(user=outsider, name="x")
    before = team.state()
    for client in (
        client_for(team.organization, outsider),
        Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {key}"),
    ):
        codes = [
            client.get("/api/v1/projects/").status_code,
            client.post("/api/v1/projects/", {"key": "SPY", "name": "x"}, content_type=JSON).status_code,
            client.get("/api/v1/projects/WEB/").status_code,
            client.delete("/api/v1/projects/WEB/?confirm=WEB").status_code,
            client.get("/api/v1/tasks/").status_code,
            client.get("/api/v1/projects/WEB/tasks/").status_code,
            client.post("/api/v1/projects/WEB/tasks/", {"title": "x"}, content_type=JSON).status_code,
            client.get(f"/api/v1/projects/WEB/tasks/{web_task.number}/").status_code,
            client.patch(
                f"/api/v1/projects/WEB/tasks/{web_task.number}/", {"title": "x"}, content_type=JSON
            ).status_code,
            client.delete(f"/api/v1/projects/WEB/tasks/{web_task.number}/").status_code,
            client.get(f"/api/v1/projects/WEB/tasks/{web_task.number}/activity/").status_code,
        ]
        assert codes == [403] * len(codes)
    assert team.state() == before
    # The same path on bravo's own domain is bravo's (empty) world.
    assert client_for(org_b, outsider).get("/api/v1/projects/WEB/").status_code == 404


# --- Filters, search, ordering ---------------------------------------------------------


@pytest.mark.django_db
def test_filters_combine_and_validate(team):
    dev = team.members["Developer"]
    team.task("a", status="todo", assignees=[dev])
    team.task("b", status="done", priority=3)
    team.task("c", status="in_progress", assignees=[dev], due_date=__import__("datetime").date(2026, 12, 1))
    client = team.client("Developer")

    def keys(query: str) -> list[str]:
        response = client.get(f"/api/v1/projects/WEB/tasks/?{query}")
        assert response.status_code == 200, response.content
        return sorted(item["title"] for item in response.json()["results"])

    assert keys("status=todo&status=in_progress") == ["a", "c"]
    assert keys("assignee=me") == ["a", "c"]
    assert keys("assignee=none") == ["b"]
    assert keys(f"assignee={dev.pk}&status=todo") == ["a"]
    assert keys("priority=high") == ["b"]
    assert keys("due_before=2026-12-02&due_after=2026-11-30") == ["c"]
    assert keys("created_after=2000-01-01T00:00:00Z&ordering=-number") == ["a", "b", "c"]
    ordered = client.get("/api/v1/projects/WEB/tasks/?ordering=-number").json()["results"]
    assert [item["number"] for item in ordered] == sorted((item["number"] for item in ordered), reverse=True)

    for bad, name in [
        ("status=later", "status"),
        ("assignee=someone", "assignee"),
        ("created_after=yesterday", "created_after"),
        ("due_before=13/13/2026", "due_before"),
        ("ordering=colour", "ordering"),
        ("ordering=relevance", "ordering"),
        ("stauts=done", "stauts"),
        ("label=x", "label"),
    ]:
        response = client.get(f"/api/v1/projects/WEB/tasks/?{bad}")
        assert response.status_code == 400, bad
        assert name in response.json(), (bad, response.json())


@pytest.mark.django_db
def test_search_by_word_forms_prefix_typo_and_number(team):
    team.task("Назначенные задачи просрочены")
    team.task("Design the landing page", description="The users are running late")
    team.task("Fix the login form")
    client = team.client("Viewer")

    def found(text: str) -> list[str]:
        response = client.get("/api/v1/projects/WEB/tasks/", {"search": text})
        assert response.status_code == 200, response.content
        return [item["title"] for item in response.json()["results"]]

    assert found("назначена") == ["Назначенные задачи просрочены"]  # Russian word forms
    assert found("задача") == ["Назначенные задачи просрочены"]
    assert found("run") == ["Design the landing page"]  # English stemming, in the description
    assert found("desig") == ["Design the landing page"]  # prefix
    assert found("logn form") == ["Fix the login form"]  # typo in a title
    assert found("просрчены") == ["Назначенные задачи просрочены"]  # typo, Cyrillic
    assert found("WEB-3") == ["Fix the login form"]  # task number
    assert found("web-3") == ["Fix the login form"]
    assert found("nothing like this") == []


@pytest.mark.django_db
def test_all_tasks_lists_only_visible_projects(team):
    team.task("web", project=team.web)
    team.task("ops", project=team.ops)
    guest = team.client("guest")
    assert guest.get("/api/v1/tasks/").json()["count"] == 0
    viewer = team.client("Viewer")  # an organisation member: sees every project
    assert sorted(t["key"] for t in viewer.get("/api/v1/tasks/").json()["results"]) == ["OPS-1", "WEB-1"]
    assert [t["key"] for t in viewer.get("/api/v1/tasks/?project=OPS").json()["results"]] == ["OPS-1"]


@pytest.mark.django_db
def test_task_list_query_count_does_not_grow_with_the_page(team):
    people = [team.members["Developer"], team.members["Project Manager"]]
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.models import Label

        label = Label.objects.create(project=team.web, name="bug")
    for index in range(12):
        team.task(f"task {index}", assignees=people, labels=[label])
    client = team.client("Developer")
    client.get("/api/v1/projects/WEB/tasks/")

    counts = []
    for size in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/projects/WEB/tasks/?page_size={size}&search=task")
        assert len(response.json()["results"]) == size
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
    # search_path, user, the search's words resolved, the (capped) count ranking the
    # matches, and the page with its assignees and labels (session, membership, member,
    # project and permissions from the cache)
    assert counts[0] == 5


def test_fifty_concurrent_creations_number_without_gaps(committed):
    organization = Organization.objects.get(slug="alpha")
    with schema_context(organization.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project = project_create(key="RACE", name="Race", actor=owner)

    def create(index: int) -> int:
        with schema_context(organization.schema_name):
            return task_create(project=project, actor=owner, title=f"racer {index}").number

    numbers = run_together(50, create)

    assert sorted(numbers) == list(range(1, 51)), numbers
    with schema_context(organization.schema_name):
        assert sorted(Task.objects.filter(project=project).values_list("number", flat=True)) == list(range(1, 51))
        Project.objects.filter(pk=project.pk).delete()


# --- Comments --------------------------------------------------------------------------


def _comments_url(task) -> str:
    return f"/api/v1/projects/WEB/tasks/{task.number}/comments/"


@pytest.mark.django_db
def test_comment_lifecycle_with_activity(team):
    task = team.task("Discuss")
    reporter = team.client("Reporter")
    created = reporter.post(_comments_url(task), {"body": "I see it **too**"}, content_type=JSON)
    assert created.status_code == 201, created.content
    comment = created.json()
    assert (comment["body"], comment["edited"], comment["author"]["email"]) == (
        "I see it **too**",
        False,
        "reporter@alpha.test",
    )

    edited = reporter.patch(f"{_comments_url(task)}{comment['id']}/", {"body": "Me too"}, content_type=JSON)
    assert edited.json()["edited"] is True
    listed = team.client("Viewer").get(_comments_url(task)).json()["results"]
    assert [item["body"] for item in listed] == ["Me too"]

    kinds = [a["kind"] for a in reporter.get(f"/api/v1/projects/WEB/tasks/{task.number}/activity/").json()["results"]]
    assert kinds[:2] == ["comment_edited", "commented"]
    assert reporter.delete(f"{_comments_url(task)}{comment['id']}/").status_code == 204
    assert team.client("Viewer").get(_comments_url(task)).json()["count"] == 0


@pytest.mark.django_db
def test_only_authors_edit_and_moderators_delete_others_comments(team):
    task = team.task("Discuss")
    comment = team.client("Developer").post(_comments_url(task), {"body": "mine"}, content_type=JSON).json()
    url = f"{_comments_url(task)}{comment['id']}/"
    before = team.state()

    assert team.client("Reporter").patch(url, {"body": "hijacked"}, content_type=JSON).status_code == 403
    assert team.client("Project Manager").patch(url, {"body": "hijacked"}, content_type=JSON).status_code == 403
    assert team.client("Reporter").delete(url).status_code == 403
    assert team.client("Viewer").post(_comments_url(task), {"body": "x"}, content_type=JSON).status_code == 403
    assert team.state() == before
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.models import Comment

        assert Comment.objects.get(pk=comment["id"]).body == "mine"

    assert team.client("Project Manager").delete(url).status_code == 204  # comment.moderate


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "field"), [({}, "body"), ({"body": ""}, "body"), ({"body": "x" * 20_001}, "body")])
def test_comment_bad_input(team, payload, field):
    task = team.task("Discuss")
    before = team.state()
    response = team.client("Developer").post(_comments_url(task), payload, content_type=JSON)
    assert response.status_code == 400
    assert field in response.json()
    assert team.state() == before


@pytest.mark.django_db
def test_comments_of_another_project_or_organisation_are_unreachable(team, org_b):
    web_task = team.task("Web")
    ops_task = team.task("Ops", project=team.ops)
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.services import comment_create

        ops_comment = comment_create(task=ops_task, actor=team.owner_member, body="ops only")
    pm = team.client("Project Manager")
    # An OPS comment id through a WEB task URL is a 404, whatever the role.
    assert pm.delete(f"{_comments_url(web_task)}{ops_comment.pk}/").status_code == 404
    assert pm.patch(f"{_comments_url(web_task)}{ops_comment.pk}/", {"body": "x"}, content_type=JSON).status_code == 404

    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    client = client_for(team.organization, outsider)
    assert client.get(_comments_url(web_task)).status_code == 403
    assert client.post(_comments_url(web_task), {"body": "x"}, content_type=JSON).status_code == 403


@pytest.mark.django_db
def test_comment_list_query_count_is_constant(team):
    task = team.task("Busy")
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.services import comment_create

        for index in range(6):
            comment_create(task=task, actor=team.members["Developer"], body=f"comment {index}")
    client = team.client("Viewer")
    client.get(_comments_url(task))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_comments_url(task)).json()["count"] == 6
    # search_path, user, task, count, page (session, membership, member, project and
    # permissions from the cache)
    assert len(queries.captured_queries) == 5, [q["sql"] for q in queries.captured_queries]


# --- Labels ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_labels_are_managed_by_project_managers_and_filter_tasks(team):
    pm = team.client("Project Manager")
    bug = pm.post("/api/v1/projects/WEB/labels/", {"name": "bug", "color": "#D1242F"}, content_type=JSON)
    assert bug.status_code == 201
    assert bug.json()["color"] == "#d1242f"
    label_id = bug.json()["id"]
    before = team.state()
    assert (
        team.client("Developer").post("/api/v1/projects/WEB/labels/", {"name": "x"}, content_type=JSON).status_code
        == 403
    )
    assert team.client("Developer").delete(f"/api/v1/projects/WEB/labels/{label_id}/").status_code == 403
    assert team.state() == before

    for payload, field in [({"name": "BUG"}, "name"), ({"name": ""}, "name"), ({"name": "x", "color": "red"}, "color")]:
        response = pm.post("/api/v1/projects/WEB/labels/", payload, content_type=JSON)
        assert response.status_code == 400
        assert field in response.json()

    dev = team.client("Developer")
    task = dev.post("/api/v1/projects/WEB/tasks/", {"title": "Broken", "label_ids": [label_id]}, content_type=JSON)
    assert [label["name"] for label in task.json()["labels"]] == ["bug"]
    dev.post("/api/v1/projects/WEB/tasks/", {"title": "Fine"}, content_type=JSON)
    assert [t["title"] for t in dev.get(f"/api/v1/projects/WEB/tasks/?label={label_id}").json()["results"]] == [
        "Broken"
    ]
    # A WEB label cannot be put on an OPS task.
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    refused = owner.post("/api/v1/projects/OPS/tasks/", {"title": "x", "label_ids": [label_id]}, content_type=JSON)
    assert refused.status_code == 400
    assert (
        pm.patch(f"/api/v1/projects/WEB/labels/{label_id}/", {"name": "defect"}, content_type=JSON).json()["name"]
        == "defect"
    )
    assert pm.get("/api/v1/projects/WEB/labels/").json()["count"] == 1
    assert pm.delete(f"/api/v1/projects/WEB/labels/{label_id}/").status_code == 204
    assert pm.get(f"/api/v1/projects/WEB/labels/{label_id}/").status_code == 405


# --- Attachments -----------------------------------------------------------------------


def _attachments_url(task) -> str:
    return f"/api/v1/projects/WEB/tasks/{task.number}/attachments/"


def _upload(client, task, name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(_attachments_url(task), {"file": SimpleUploadedFile(name, content, content_type="image/png")})


def _stored_files(organization) -> list[str]:
    from django.conf import settings

    root = settings.MEDIA_ROOT / organization.schema_name / "attachments"
    return sorted(path.name for path in root.glob("*")) if root.exists() else []


@pytest.mark.django_db
def test_attachment_upload_list_download_delete(team, django_capture_on_commit_callbacks):
    task = team.task("With files")
    dev = team.client("Developer")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100

    created = _upload(dev, task, "../../etc/sc\x07reen shot.png", png)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["filename"] == "screen shot.png"  # no path, no control characters
    assert (body["content_type"], body["size"]) == ("image/png", len(png))
    assert len(_stored_files(team.organization)) == 1

    listed = team.client("Viewer").get(_attachments_url(task)).json()
    assert listed["count"] == 1
    download = team.client("Viewer").get(f"{_attachments_url(task)}{body['id']}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"

    assert team.client("Viewer").delete(f"{_attachments_url(task)}{body['id']}/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert dev.delete(f"{_attachments_url(task)}{body['id']}/").status_code == 204
    assert _stored_files(team.organization) == []
    kinds = [a["kind"] for a in dev.get(f"/api/v1/projects/WEB/tasks/{task.number}/activity/").json()["results"]]
    assert kinds[:2] == ["attachment_removed", "attachment_added"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "served_as"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>", "text/plain; charset=utf-8"),
        ("logo.svg", b"<svg onload='alert(1)'/>", "text/plain; charset=utf-8"),
        ("photo.png", b"<html>not really a png</html>", "text/plain; charset=utf-8"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),
        ("doc.pdf", b"%PDF-1.7 ...", "application/pdf"),
    ],
)
def test_content_is_sniffed_and_never_served_inline(team, name, content, served_as):
    task = team.task("Sniffed")
    dev = team.client("Developer")
    attachment = _upload(dev, task, name, content).json()
    download = dev.get(f"{_attachments_url(task)}{attachment['id']}/")
    assert download["Content-Type"] == served_as
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.django_db
def test_oversize_upload_is_413_and_stores_nothing(team, settings):
    settings.TESSERA_ATTACHMENT_MAX_BYTES = 1000
    task = team.task("Too big")
    before = team.state()

    response = _upload(team.client("Developer"), task, "big.bin", b"x" * 5000)

    assert response.status_code == 413
    assert response.json()["limit"] == "1000"
    assert team.state() == before
    assert _stored_files(team.organization) == []
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.models import Attachment

        assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_upload_without_a_file_is_a_400(team):
    task = team.task("Empty")
    response = team.client("Developer").post(_attachments_url(task), {"note": "no file"})
    assert response.status_code == 400
    assert "file" in response.json()


@pytest.mark.django_db
def test_attachments_of_another_project_or_organisation_are_unreachable(
    team, org_b, django_capture_on_commit_callbacks
):
    web_task = team.task("Web")
    ops_task = team.task("Ops", project=team.ops)
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    ops_file = owner.post(
        f"/api/v1/projects/OPS/tasks/{ops_task.number}/attachments/",
        {"file": __import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile("o.txt", b"ops")},
    ).json()
    pm = team.client("Project Manager")
    assert pm.get(f"{_attachments_url(web_task)}{ops_file['id']}/").status_code == 404
    assert pm.delete(f"{_attachments_url(web_task)}{ops_file['id']}/").status_code == 404

    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    stranger = client_for(team.organization, outsider)
    assert (
        stranger.get(f"/api/v1/projects/OPS/tasks/{ops_task.number}/attachments/{ops_file['id']}/").status_code == 403
    )
    # bravo's own domain never reaches alpha's files
    assert (
        client_for(org_b, outsider)
        .get(f"/api/v1/projects/OPS/tasks/{ops_task.number}/attachments/{ops_file['id']}/")
        .status_code
        == 404
    )

    # Deleting the task deletes its files.
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/projects/OPS/tasks/{ops_task.number}/").status_code == 204
    assert _stored_files(team.organization) == []


# --- Moving tasks ----------------------------------------------------------------------


@pytest.mark.django_db
def test_moving_a_task_renumbers_it_and_keeps_a_redirect(team):
    with schema_context(team.organization.schema_name):
        project_member_set(
            project=team.ops, member=team.members["Project Manager"], role=Role.objects.get(name="Developer")
        )
        from tenant_apps.tasks.models import Label

        bug = Label.objects.create(project=team.web, name="bug")
    team.task("Ops one", project=team.ops)
    task = team.task("Misfiled", labels=[bug], assignees=[team.members["Developer"], team.members["Project Manager"]])
    pm = team.client("Project Manager")

    moved = pm.post(f"/api/v1/projects/WEB/tasks/{task.number}/move/", {"project": "OPS"}, content_type=JSON)

    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["key"] == "OPS-2"
    assert body["labels"] == []  # labels belong to projects
    assert [a["email"] for a in body["assignees"]] == ["projectmanager@alpha.test"]  # the developer is not in OPS
    old = pm.get(f"/api/v1/projects/WEB/tasks/{task.number}/")
    assert old.status_code == 301
    assert old["Location"] == "/api/v1/projects/OPS/tasks/2/"
    activity = pm.get("/api/v1/projects/OPS/tasks/2/activity/").json()["results"]
    assert (activity[0]["kind"], activity[0]["old_value"], activity[0]["new_value"]) == (
        "moved",
        f"WEB-{task.number}",
        "OPS-2",
    )
    # The next WEB task does not reuse the moved number's slot in OPS, nor WEB's.
    assert (
        pm.post("/api/v1/projects/WEB/tasks/", {"title": "Next"}, content_type=JSON).json()["number"] == task.number + 1
    )


@pytest.mark.django_db
def test_moving_needs_delete_here_and_create_there(team):
    task = team.task("Stay")
    before = team.state()
    # Developer: no task.delete in WEB.
    assert (
        team.client("Developer")
        .post(f"/api/v1/projects/WEB/tasks/{task.number}/move/", {"project": "OPS"}, content_type=JSON)
        .status_code
        == 403
    )
    # Project Manager of WEB has no role in OPS (sees it as a member, cannot create there).
    assert (
        team.client("Project Manager")
        .post(f"/api/v1/projects/WEB/tasks/{task.number}/move/", {"project": "OPS"}, content_type=JSON)
        .status_code
        == 403
    )
    for payload, field in [({}, "project"), ({"project": "NOPE"}, "project"), ({"project": "WEB"}, "project")]:
        owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
        response = owner.post(f"/api/v1/projects/WEB/tasks/{task.number}/move/", payload, content_type=JSON)
        assert response.status_code == 400, payload
        assert field in response.json()
    assert team.state() == before


@pytest.mark.django_db
def test_usage_counts_storage_for_owners_and_admins_only(team, org_b):
    task = team.task("Files")
    _upload(team.client("Developer"), task, "a.txt", b"x" * 300)
    _upload(team.client("Developer"), task, "b.txt", b"y" * 200)
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))

    usage = owner.get("/api/v1/usage/").json()

    assert usage["storage_bytes"] == 500
    assert usage["projects"] == 2
    assert usage["tasks"] == 1
    assert usage["members"] == 6
    assert team.client("Developer").get("/api/v1/usage/").status_code == 403
    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    assert client_for(team.organization, outsider).get("/api/v1/usage/").status_code == 403
    assert client_for(org_b, outsider).get("/api/v1/usage/").json()["storage_bytes"] == 0


@pytest.mark.django_db
def test_a_file_missing_from_storage_is_a_404_not_a_500(team):
    import shutil

    from django.conf import settings

    task = team.task("Lost")
    attachment = _upload(team.client("Developer"), task, "gone.txt", b"bytes").json()
    shutil.rmtree(settings.MEDIA_ROOT)
    response = team.client("Developer").get(f"{_attachments_url(task)}{attachment['id']}/")
    assert response.status_code == 404
    assert "missing" in response.json()["detail"]


# --- Review regressions ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_stale_project_update_does_not_rewind_task_numbers(team):
    from tenant_apps.projects.services import project_update

    with schema_context(team.organization.schema_name):
        stale = Project.objects.get(key="WEB")  # read before the task below is created
    team.task("one")
    with schema_context(team.organization.schema_name):
        project_update(project=stale, data={"name": "Renamed"})
    assert team.task("two").number == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["web", "W"])
def test_impossible_project_keys_are_404(team, key):
    assert team.client("Project Manager").get(f"/api/v1/projects/{key}/tasks/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["%00", "A%00B"])
def test_project_keys_with_a_nul_are_400(team, key):
    # A NUL never reaches a lookup (shared_apps/core/middleware.py): a 400, not a 404.
    response = team.client("Project Manager").get(f"/api/v1/projects/{key}/tasks/")
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"


@pytest.mark.django_db
def test_size_limit_holds_for_browser_sessions_with_csrf(team, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.middleware.csrf import _get_new_csrf_string

    settings.TESSERA_ATTACHMENT_MAX_BYTES = 1000
    task = team.task("Browser")
    browser = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    browser.force_login(team.users["Developer"])
    token = _get_new_csrf_string()
    browser.cookies["csrftoken"] = token

    response = browser.post(
        _attachments_url(task), {"file": SimpleUploadedFile("big.bin", b"x" * 5000)}, HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 413
    assert _stored_files(team.organization) == []
    small = browser.post(
        _attachments_url(task), {"file": SimpleUploadedFile("ok.txt", b"fine")}, HTTP_X_CSRFTOKEN=token
    )
    assert small.status_code == 201


@pytest.mark.django_db
def test_reporters_cannot_create_tasks_in_another_status(team):
    before = team.state()
    response = team.client("Reporter").post(
        "/api/v1/projects/WEB/tasks/", {"title": "Already done", "status": "done"}, content_type=JSON
    )
    assert response.status_code == 403
    assert team.state() == before


@pytest.mark.django_db
def test_guests_with_a_role_without_project_view_see_no_tasks(team):
    from tenant_apps.projects.services import role_create

    team.task("secret")
    with schema_context(team.organization.schema_name):
        blind = role_create(name="Commenter", permissions=["comment.create"])
        project_member_set(project=team.web, member=team.members["guest"], role=blind)
    guest = team.client("guest")
    assert guest.get("/api/v1/tasks/").json()["count"] == 0
    assert guest.get("/api/v1/projects/").json()["count"] == 0
    assert guest.get("/api/v1/projects/WEB/tasks/").status_code == 404


@pytest.mark.django_db
def test_label_patch_and_filter_refuse_malformed_input(team):
    pm = team.client("Project Manager")
    label_id = pm.post("/api/v1/projects/WEB/labels/", {"name": "bug"}, content_type=JSON).json()["id"]
    response = pm.patch(f"/api/v1/projects/WEB/labels/{label_id}/", ["not", "an", "object"], content_type=JSON)
    assert response.status_code == 400
    assert pm.get("/api/v1/projects/WEB/tasks/?label=1.7").status_code == 400


@pytest.mark.django_db
def test_a_move_records_the_labels_and_assignees_it_drops(team):
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.models import Label

        bug = Label.objects.create(project=team.web, name="bug")
    task = team.task("Moving", labels=[bug], assignees=[team.members["Developer"]])
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    moved = owner.post(f"/api/v1/projects/WEB/tasks/{task.number}/move/", {"project": "OPS"}, content_type=JSON)
    assert moved.status_code == 200
    activity = owner.get(f"/api/v1/projects/OPS/tasks/{moved.json()['number']}/activity/").json()["results"]
    fields = {(a["kind"], a["field"]) for a in activity}
    assert {("moved", "project"), ("changed", "labels"), ("changed", "assignees")} <= fields


@pytest.mark.django_db
def test_if_match_guards_delete_and_move_and_accepts_a_list(team):
    task = team.task("Guarded")
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    url = f"/api/v1/projects/WEB/tasks/{task.number}/"
    etag = owner.get(url)["ETag"]
    owner.patch(url, {"title": "Changed"}, content_type=JSON)  # the ETag is now stale
    before = team.state()

    assert owner.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    assert owner.post(f"{url}move/", {"project": "OPS"}, content_type=JSON, HTTP_IF_MATCH=etag).status_code == 412
    assert team.state() == before

    fresh = owner.get(url)["ETag"]
    listed = owner.patch(url, {"title": "Again"}, content_type=JSON, HTTP_IF_MATCH=f'"0.0", {fresh}')
    assert listed.status_code == 200
    stale_body = owner.patch(url, {"title": "x", "version": 1}, content_type=JSON, HTTP_IF_MATCH=listed["ETag"])
    assert stale_body.status_code == 412  # a stale version in the body is not overridden by If-Match


@pytest.mark.django_db
def test_deleting_a_label_is_recorded_on_its_tasks(team):
    pm = team.client("Project Manager")
    label_id = pm.post("/api/v1/projects/WEB/labels/", {"name": "bug"}, content_type=JSON).json()["id"]
    created = pm.post("/api/v1/projects/WEB/tasks/", {"title": "Tagged", "label_ids": [label_id]}, content_type=JSON)
    number, version = created.json()["number"], created.json()["version"]

    assert pm.delete(f"/api/v1/projects/WEB/labels/{label_id}/").status_code == 204

    task = pm.get(f"/api/v1/projects/WEB/tasks/{number}/").json()
    assert task["labels"] == []
    assert task["version"] == version + 1
    activity = pm.get(f"/api/v1/projects/WEB/tasks/{number}/activity/").json()["results"]
    assert (activity[0]["field"], activity[0]["old_value"], activity[0]["new_value"]) == ("labels", [label_id], [])
