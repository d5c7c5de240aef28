"""The task list's fast path: repeatable filters, strict pagination parameters, the
capped count, the shape of list items (documented and equal to the detail), rendered
Markdown, and statement counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_member_set
from tenant_apps.tasks.api import tasks as task_apis
from tenant_apps.tasks.models import Label, Task
from tenant_apps.tasks.serializers import TaskListItemOutputSerializer, TaskOutputSerializer
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.tenant_apps.tasks.test_api import JSON, Team

LIST = "/api/v1/projects/WEB/tasks/"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


@pytest.fixture
def labelled(team):
    """Four WEB tasks: a (dev, bug), b (pm, ui), c (dev and pm, bug and ui), d (nobody)."""
    dev, pm = team.members["Developer"], team.members["Project Manager"]
    with schema_context(team.organization.schema_name):
        bug = Label.objects.create(project=team.web, name="bug")
        ui = Label.objects.create(project=team.web, name="ui")
    team.task("a", assignees=[dev], labels=[bug])
    team.task("b", assignees=[pm], labels=[ui], status="done")
    team.task("c", assignees=[dev, pm], labels=[bug, ui])
    team.task("d")
    return {"dev": dev.pk, "pm": pm.pk, "bug": bug.pk, "ui": ui.pk}


def _titles(client, query: str) -> list[str]:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200, response.content
    return sorted(item["title"] for item in response.json()["results"])


# --- Filters -------------------------------------------------------------------------


@pytest.mark.django_db
def test_repeated_assignee_and_label_match_any_of_their_values(team, labelled):
    client = team.client("Developer")
    assert _titles(client, f"assignee={labelled['dev']}") == ["a", "c"]
    assert _titles(client, f"assignee={labelled['dev']}&assignee={labelled['pm']}") == ["a", "b", "c"]
    assert _titles(client, f"assignee={labelled['pm']}&assignee=none") == ["b", "c", "d"]
    assert _titles(client, "assignee=me&assignee=none") == ["a", "c", "d"]
    assert _titles(client, f"label={labelled['bug']}") == ["a", "c"]
    assert _titles(client, f"label={labelled['bug']}&label={labelled['ui']}") == ["a", "b", "c"]
    # Different parameters still combine with AND; each task is listed once.
    assert _titles(client, f"label={labelled['bug']}&label={labelled['ui']}&status=todo") == ["a", "c"]
    response = client.get(f"{LIST}?assignee={labelled['dev']}&assignee={labelled['pm']}&label={labelled['ui']}")
    assert response.json()["count"] == 2
    assert sorted(item["title"] for item in response.json()["results"]) == ["b", "c"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("assignee=1&assignee=someone", "assignee"),
        ("assignee=me&assignee=", "assignee"),
        ("label=1&label=bug", "label"),
        ("label=" + "&label=".join(str(n) for n in range(21)), "label"),
        ("page_size=0", "page_size"),
        ("page_size=-5", "page_size"),
        ("page_size=ten", "page_size"),
        ("page_size=201", "page_size"),
        ("page=0", "page"),
        ("page=first", "page"),
        ("page=2.5", "page"),
    ],
)
def test_bad_filter_or_page_values_are_a_400_naming_the_parameter(team, labelled, query, name):
    for path in (LIST, "/api/v1/tasks/"):
        response = team.client("Developer").get(f"{path}?{query}")
        assert response.status_code == 400, (path, query, response.content)
        assert name in response.json(), response.json()


@pytest.mark.django_db
def test_every_list_refuses_a_bad_page_size_and_404s_past_the_end(team):
    client = team.client("Project Manager")
    for path in ("/api/v1/projects/", "/api/v1/members/", "/api/v1/roles/", "/api/v1/projects/WEB/labels/"):
        assert client.get(f"{path}?page_size=500").status_code == 400, path
        assert "page_size" in client.get(f"{path}?page_size=x").json()
        assert client.get(f"{path}?page=99").status_code == 404, path
        assert client.get(f"{path}?page_size=200").status_code == 200


# --- Pagination and counting ---------------------------------------------------------


@pytest.mark.django_db
def test_pages_link_to_each_other_and_last_page_works(team):
    for index in range(5):
        team.task(f"t{index}")
    client = team.client("Viewer")
    first = client.get(f"{LIST}?page_size=2").json()
    assert (first["count"], first["count_capped"], first["previous"]) == (5, False, None)
    assert "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert "page=3" in second["next"]
    assert "page=" not in second["previous"]
    last = client.get(f"{LIST}?page_size=2&page=last").json()
    assert (last["count"], len(last["results"]), last["next"]) == (5, 1, None)
    assert client.get(f"{LIST}?page_size=2&page=4").status_code == 404
    seen = [item["key"] for page in (first, second, last) for item in page["results"]]
    assert sorted(seen) == [f"WEB-{n}" for n in range(1, 6)]  # no overlap, nothing missing


@pytest.mark.django_db
def test_default_order_is_most_recently_updated_first(team):
    tasks = [team.task(f"t{index}") for index in range(3)]
    with schema_context(team.organization.schema_name):
        Task.objects.filter(pk=tasks[0].pk).update(updated_at=timezone.now() + timedelta(minutes=5))
    results = team.client("Viewer").get(LIST).json()["results"]
    assert [item["title"] for item in results] == ["t0", "t2", "t1"]


@pytest.mark.django_db
def test_counting_stops_at_the_cap_without_search_but_pages_go_on(team, monkeypatch):
    monkeypatch.setattr(task_apis, "TASK_COUNT_CAP", 3)
    for index in range(7):
        team.task(f"capped {index}")
    client = team.client("Viewer")

    first = client.get(f"{LIST}?page_size=2").json()
    assert (first["count"], first["count_capped"]) == (3, True)
    assert first["next"] is not None
    # A page beyond the cap is counted up to its own end, and still says there is more.
    third = client.get(f"{LIST}?page_size=2&page=3").json()
    assert (third["count"], third["count_capped"], len(third["results"])) == (6, True, 2)
    fourth = client.get(f"{LIST}?page_size=2&page=4").json()
    assert (fourth["count"], fourth["count_capped"], fourth["next"], len(fourth["results"])) == (7, False, None, 1)
    # The last page and a search count exactly.
    last = client.get(f"{LIST}?page_size=2&page=last").json()
    assert (last["count"], last["count_capped"], len(last["results"])) == (7, False, 1)
    searched = client.get(f"{LIST}?search=capped&page_size=2").json()
    assert (searched["count"], searched["count_capped"]) == (7, False)
    searched_last = client.get(f"{LIST}?search=capped&page_size=2&page=last").json()
    assert (searched_last["count"], len(searched_last["results"]), searched_last["next"]) == (7, 1, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "statements"),
    [
        # search_path, user, the search's words resolved (dictionary), the (capped) count
        # ranking the matches, the page with its assignees and labels
        ("search=task", 5),
        # search_path, user, the (capped) count, the page with its assignees and labels
        ("status=todo", 4),
        # the same; on all tasks the count reads the assignments alone
        ("assignee=me", 4),
    ],
)
def test_task_list_statements_are_constant_with_and_without_search(team, query, statements):
    people = [team.members["Developer"], team.members["Project Manager"]]
    with schema_context(team.organization.schema_name):
        label = Label.objects.create(project=team.web, name="bug")
    for index in range(12):
        team.task(f"task {index}", assignees=people, labels=[label])
    for path in (LIST, "/api/v1/tasks/"):
        client = team.client("Developer")
        client.get(f"{path}?{query}")  # warm the session, membership and project caches
        counts = []
        for size in (1, 12):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(f"{path}?{query}&page_size={size}")
            assert len(response.json()["results"]) == size
            assert all(len(item["assignees"]) == 2 and len(item["labels"]) == 1 for item in response.json()["results"])
            counts.append(len(queries.captured_queries))
        assert counts == [statements, statements], (path, [q["sql"][:80] for q in queries.captured_queries])


@pytest.mark.django_db
def test_the_page_applies_each_filter_once(team, labelled):
    """The page's rows are chosen by id from the filtered list inside the same statement;
    the outer query that dresses them repeats none of the filters (before, each EXISTS was
    probed again for the page's rows and planned twice)."""
    client = team.client("Developer")
    query = f"assignee={labelled['dev']}&label={labelled['bug']}&status=todo"
    with CaptureQueriesContext(connection) as queries:
        assert _titles(client, query) == ["a", "c"]
    page = queries.captured_queries[-1]["sql"]
    assert page.count("a.member_id =") == 1, page
    assert page.count("l.label_id =") == 1, page
    assert page.count('"status" IN') == 1, page
    # and several people, several labels, `none`: still the right tasks
    assert _titles(client, f"assignee={labelled['dev']}&assignee={labelled['pm']}&label={labelled['bug']}") == [
        "a",
        "c",
    ]
    assert _titles(client, f"assignee=none&label={labelled['bug']}&label={labelled['ui']}") == []


# --- Shape ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_items_have_the_documented_shape_and_equal_the_detail(team, labelled):
    with schema_context(team.organization.schema_name):
        Task.objects.filter(title="c").update(due_date="2026-12-24", completed_at=timezone.now(), priority=3)
    client = team.client("Viewer")
    listed = {item["title"]: item for item in client.get(LIST).json()["results"]}
    assert set(listed["c"]) == set(TaskListItemOutputSerializer().fields)
    for title, item in listed.items():
        detail = client.get(f"{LIST}{item['number']}/").json()
        assert set(detail) == set(TaskOutputSerializer().fields)
        assert {name: value for name, value in detail.items() if name != "description_html"} == item, title
    c = listed["c"]
    assert (c["priority"], c["due_date"], c["project"], c["key"]) == ("high", "2026-12-24", "WEB", f"WEB-{c['number']}")
    assert c["completed_at"].endswith("Z")
    assert [person["email"] for person in c["assignees"]] == ["developer@alpha.test", "projectmanager@alpha.test"]
    assert [label["name"] for label in c["labels"]] == ["bug", "ui"]
    assert c["reporter"]["email"] == "owner@alpha.test"
    assert (listed["d"]["assignees"], listed["d"]["labels"]) == ([], [])


@pytest.mark.django_db
def test_all_tasks_for_a_guest_cover_only_their_projects(team):
    team.task("web one")
    team.task("ops one", project=team.ops)
    guest = team.client("guest")
    with schema_context(team.organization.schema_name):
        project_member_set(project=team.ops, member=team.members["guest"], role=Role.objects.get(name="Viewer"))
    body = guest.get("/api/v1/tasks/?status=todo").json()
    assert (body["count"], [item["title"] for item in body["results"]]) == (1, ["ops one"])
    assert [item["title"] for item in guest.get("/api/v1/tasks/?search=one").json()["results"]] == ["ops one"]
    assert guest.get("/api/v1/tasks/?project=WEB").json()["count"] == 0


def _count_statement(client, query: str) -> tuple[dict, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/tasks/?{query}")
    assert response.status_code == 200, response.content
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    assert len(counts) == 1, counts
    return response.json(), counts[0]


@pytest.mark.django_db
def test_one_persons_tasks_are_counted_from_the_assignments_where_nothing_else_narrows(team, monkeypatch):
    dev, pm, owner = team.members["Developer"], team.members["Project Manager"], team.owner_member
    team.task("web both", assignees=[dev, pm])
    team.task("web dev", assignees=[dev])
    team.task("web nobody")
    team.task("web owner", assignees=[owner])
    team.task("ops owner", project=team.ops, assignees=[owner])
    member = team.client("Developer")  # an organisation member sees every project: no scope

    body, count = _count_statement(member, f"assignee={dev.pk}")
    assert (body["count"], sorted(item["title"] for item in body["results"])) == (2, ["web both", "web dev"])
    assert "FROM tasks_task_assignees" in count
    assert '"tasks_task"' not in count, count
    body, count = _count_statement(member, f"assignee={dev.pk}&assignee={pm.pk}")  # a shared task once
    assert body["count"] == 2
    assert "DISTINCT task_id" in count
    assert _count_statement(member, "assignee=me")[0]["count"] == 2
    assert _count_statement(member, f"assignee={owner.pk}")[0]["count"] == 2  # both projects
    monkeypatch.setattr(task_apis, "TASK_COUNT_CAP", 1)
    capped = _count_statement(member, f"assignee={dev.pk}&page_size=1")[0]
    assert (capped["count"], capped["count_capped"], capped["next"] is not None) == (1, True, True)
    monkeypatch.undo()

    # Anything else narrowing the list counts through the tasks, and counts what it shows.
    body, count = _count_statement(member, f"assignee={dev.pk}&status=todo&project=WEB")
    assert body["count"] == 2
    assert '"tasks_task"' in count
    assert _count_statement(member, f"assignee={dev.pk}&assignee=none")[0]["count"] == 3
    guest = team.client("guest")
    with schema_context(team.organization.schema_name):
        project_member_set(project=team.ops, member=team.members["guest"], role=Role.objects.get(name="Viewer"))
    body, count = _count_statement(guest, f"assignee={owner.pk}")  # a guest: their projects only
    assert (body["count"], [item["title"] for item in body["results"]]) == (1, ["ops owner"])
    assert '"tasks_task"' in count
    assert team.client("Viewer").get(f"{LIST}?assignee={owner.pk}").json()["count"] == 1


@pytest.mark.django_db
def test_task_lists_of_another_organisation_are_unreachable(team, org_b):
    team.task("alpha secret")
    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    assert client_for(team.organization, outsider).get("/api/v1/tasks/?search=secret").status_code == 403
    assert client_for(org_b, outsider).get("/api/v1/tasks/?search=secret").json()["count"] == 0
    assert client_for(org_b, outsider).get(f"{LIST}?search=secret").status_code == 404


# --- Rendered Markdown ---------------------------------------------------------------


@pytest.mark.django_db
def test_descriptions_and_comments_come_with_sanitized_html(team):
    dev = team.client("Developer")
    created = dev.post(
        LIST,
        {"title": "XSS", "description": "**Bold** <script>alert(1)</script> [x](javascript:alert(2))"},
        content_type=JSON,
    ).json()
    assert created["description_html"] == "<p><strong>Bold</strong>  [x](javascript:alert(2))</p>"
    url = f"{LIST}{created['number']}/"
    updated = dev.patch(url, {"description": "<img src=x onerror=alert(1)>"}, content_type=JSON).json()
    assert updated["description_html"] == '<img src="x">'
    assert dev.get(url).json()["description_html"] == '<img src="x">'
    assert "description_html" not in dev.get(LIST).json()["results"][0]

    comment = dev.post(f"{url}comments/", {"body": "_ok_ <iframe src=//evil></iframe>"}, content_type=JSON).json()
    assert comment["body_html"] == "<p><em>ok</em> </p>"
    edited = dev.patch(f"{url}comments/{comment['id']}/", {"body": "<a onclick=x()>hi</a>"}, content_type=JSON)
    safe_link = '<p><a rel="noopener noreferrer nofollow">hi</a></p>'
    assert edited.json()["body_html"] == safe_link
    listed = dev.get(f"{url}comments/").json()["results"]
    assert [item["body_html"] for item in listed] == [safe_link]
    assert listed[0]["body"] == "<a onclick=x()>hi</a>"  # stored as written
