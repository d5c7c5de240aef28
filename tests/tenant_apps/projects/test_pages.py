"""The Projects page: cards, create (key suggested), archive/unarchive, delete after
typing the key; wrong role, other tenant, bad input, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.projects.models import Project
from tenant_apps.projects.selectors import project_key_suggest
from tenant_apps.projects.services import project_create
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _keys(team) -> list[str]:
    with schema_context(team.organization.schema_name):
        return sorted(Project.objects.values_list("key", flat=True))


@pytest.mark.django_db
def test_projects_page_shows_cards_with_counts_and_lead(team):
    team.task("a")
    team.task("b", status="done")
    page = team.client("Viewer").get("/projects/").text
    assert "Website" in page
    assert "Operations" in page
    assert "To do: 1" in page
    assert "Done: 1" in page
    assert "Lead:" in page


@pytest.mark.django_db
def test_create_a_project_with_the_suggested_key(team):
    client = team.client("Developer")
    response = client.post("/projects/", {"name": "Mobile App", "key": "", "description": ""})
    assert response.status_code == 302
    assert response["Location"] == "/projects/MA/"
    assert "MA" in _keys(team)
    suggestion = client.get("/projects/key-suggestion/", {"name": "Website"}, HTTP_HX_REQUEST="true").text
    assert "WEB2" in suggestion


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "key": "NEW"}, "This field is required"),
        ({"name": "x", "key": "WEB"}, "exists already"),
        ({"name": "x", "key": "1AB"}, "uppercase"),
        ({"name": "x" * 201, "key": "NEW"}, "at most 200"),
    ],
)
def test_create_refuses_bad_input_inline(team, data, error):
    before = _keys(team)
    response = team.client("Developer").post("/projects/", data)
    assert response.status_code == 400
    assert error in response.text
    assert 'class="errorlist' in response.text
    assert _keys(team) == before


@pytest.mark.django_db
def test_guests_see_no_create_form_and_cannot_create(team):
    assert "New project" not in team.client("guest").get("/projects/").text
    response = team.client("guest").post("/projects/", {"name": "Sneaky", "key": "SNK"})
    assert response.status_code in (400, 403)
    assert "SNK" not in _keys(team)


@pytest.mark.django_db
def test_archive_unarchive_and_delete_only_after_typing_the_key(team):
    manager = team.client("Project Manager")
    assert manager.post("/projects/WEB/archive/", {"archived": "1"}).status_code == 302
    with schema_context(team.organization.schema_name):
        assert Project.objects.get(key="WEB").archived
    assert manager.post("/projects/WEB/archive/", {"archived": "0"}).status_code == 302
    response = manager.post("/projects/WEB/delete/", {"confirm": "WEX"})
    assert response.status_code == 400
    assert "Type the project key" in response.text
    assert "WEB" in _keys(team)
    assert manager.post("/projects/WEB/delete/", {"confirm": "WEB"}).status_code == 302
    assert "WEB" not in _keys(team)


@pytest.mark.django_db
def test_wrong_role_and_other_tenant_cannot_archive_or_delete(team):
    for role in ("Developer", "Viewer"):
        assert team.client(role).post("/projects/WEB/archive/", {"archived": "1"}).status_code == 403
        assert team.client(role).post("/projects/WEB/delete/", {"confirm": "WEB"}).status_code == 403
    assert team.client("guest").post("/projects/WEB/delete/", {"confirm": "WEB"}).status_code == 404
    assert team.client("Developer").post("/projects/NOPE/archive/", {"archived": "1"}).status_code == 404
    with schema_context(team.organization.schema_name):
        assert not Project.objects.get(key="WEB").archived
    assert "WEB" in _keys(team)


@pytest.mark.django_db
def test_projects_page_queries_stay_constant_as_projects_grow(team):
    client = team.client("Developer")
    client.get("/projects/")
    with CaptureQueriesContext(connection) as first:
        client.get("/projects/")
    with schema_context(team.organization.schema_name):
        for index in range(5):
            project_create(key=f"P{index}X", name=f"Project {index}", actor=team.members["Developer"])
    client.get("/projects/")
    with CaptureQueriesContext(connection) as second:
        client.get("/projects/")
    assert len(second) == len(first)


@pytest.mark.django_db
def test_key_suggestion_is_latin_and_free(team):
    with schema_context(team.organization.schema_name):
        assert project_key_suggest("Мобильное приложение") == "PRJ"
        assert project_key_suggest("Website") == "WEB2"
        assert project_key_suggest("Customer Support Desk") == "CSD"
