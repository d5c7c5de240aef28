import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.fields.services import field_create
from tenant_apps.savedviews.models import SavedView
from tenant_apps.savedviews.services import view_create
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team

JSON = "application/json"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _state(team) -> list:
    with schema_context(team.organization.schema_name):
        return sorted(SavedView.objects.values_list("project__key", "owner_id", "name", "shared", "layout", "ordering"))


def _view(team, who="Developer", **kwargs):
    with schema_context(team.organization.schema_name):
        return view_create(project=kwargs.pop("project", team.web), actor=team.members[who], **kwargs)


@pytest.mark.django_db
def test_view_create_list_update_delete(team):
    with schema_context(team.organization.schema_name):
        field = field_create(
            project=team.web, actor=team.owner_member, name="Severity", kind="select", options=[{"name": "High"}]
        )
        high = field.options.get().pk
    client = team.client("Developer")
    body = {
        "name": "Mine",
        "layout": "board",
        "filters": {"priority": ["high", "urgent"], f"field_{field.pk}": [str(high)]},
        "ordering": f"-field_{field.pk}",
        "columns": ["status", f"field_{field.pk}"],
    }
    response = client.post("/api/v1/projects/WEB/views/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    view = response.json()
    assert (view["project"], view["shared"], view["layout"], view["ordering"]) == (
        "WEB",
        False,
        "board",
        f"-field_{field.pk}",
    )
    assert view["filters"]["priority"] == ["high", "urgent"]
    listed = client.get("/api/v1/projects/WEB/views/").json()["results"]
    assert [item["name"] for item in listed] == ["Mine"]
    # Private: nobody else sees it, not even a project manager.
    assert team.client("Project Manager").get("/api/v1/projects/WEB/views/").json()["count"] == 0
    assert team.client("Project Manager").get(f"/api/v1/projects/WEB/views/{view['id']}/").status_code == 404
    response = client.patch(f"/api/v1/projects/WEB/views/{view['id']}/", {"name": "Renamed"}, content_type=JSON)
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert client.delete(f"/api/v1/projects/WEB/views/{view['id']}/").status_code == 204
    assert _state(team) == []


@pytest.mark.django_db
def test_shared_views_need_project_manage_and_are_seen_by_the_project(team):
    before = _state(team)
    developer = team.client("Developer")
    body = {"name": "Team", "shared": True}
    assert developer.post("/api/v1/projects/WEB/views/", body, content_type=JSON).status_code == 403
    own = _view(team, name="Own")
    response = developer.patch(f"/api/v1/projects/WEB/views/{own.pk}/", {"shared": True}, content_type=JSON)
    assert response.status_code == 403
    assert _state(team) == [*before, ("WEB", team.members["Developer"].pk, "Own", False, "list", "")]
    response = team.client("Project Manager").post("/api/v1/projects/WEB/views/", body, content_type=JSON)
    assert response.status_code == 201
    shared = response.json()["id"]
    assert [v["name"] for v in team.client("Viewer").get("/api/v1/projects/WEB/views/").json()["results"]] == ["Team"]
    # Seen, but not theirs to change.
    state = _state(team)
    viewer = team.client("Viewer")
    assert viewer.patch(f"/api/v1/projects/WEB/views/{shared}/", {"name": "x"}, content_type=JSON).status_code == 403
    assert viewer.delete(f"/api/v1/projects/WEB/views/{shared}/").status_code == 403
    assert _state(team) == state


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "layout": "table"}, "layout"),
        ({"name": "x", "filters": {"priority": ["huge"]}}, "filters"),
        ({"name": "x", "filters": {"colour": ["red"]}}, "filters"),
        ({"name": "x", "filters": {"field_999999": ["1"]}}, "filters"),
        ({"name": "x", "filters": {"page": ["2"]}}, "filters"),
        ({"name": "x", "filters": "status=todo"}, "filters"),
        ({"name": "x", "ordering": "colour"}, "ordering"),
        ({"name": "x", "ordering": "field_999999"}, "ordering"),
        ({"name": "x", "columns": ["colour"]}, "columns"),
        ({"name": "x", "owner_id": 1}, "owner_id"),
        ({"name": "x", "filters": {"search": ["a\x00b"]}}, "filters"),
        ({"name": "x", "filters": {"priority": [{"a": 1}]}}, "filters"),
    ],
)
def test_view_create_refuses_bad_input(team, body, key):
    before = _state(team)
    response = team.client("Developer").post("/api/v1/projects/WEB/views/", body, content_type=JSON)
    assert response.status_code == 400, response.content
    assert key in response.json()
    assert _state(team) == before


@pytest.mark.django_db
def test_views_of_other_projects_and_organisations_are_not_found(team, org_b):
    view = _view(team, "Project Manager", name="Shared", shared=True)
    before = _state(team)
    assert team.client("guest").get("/api/v1/projects/WEB/views/").status_code == 404
    manager = team.client("Project Manager")
    assert manager.get(f"/api/v1/projects/OPS/views/{view.pk}/").status_code == 404
    assert manager.delete(f"/api/v1/projects/OPS/views/{view.pk}/").status_code == 404
    other = client_for(org_b, team.users["Project Manager"])
    assert other.get(f"/api/v1/projects/WEB/views/{view.pk}/").status_code in (403, 404)
    assert other.delete(f"/api/v1/projects/WEB/views/{view.pk}/").status_code in (403, 404)
    assert _state(team) == before


@pytest.mark.django_db
def test_view_list_has_constant_queries(team):
    client = team.client("Developer")
    counts = []
    for total in (1, 8):
        while len(_state(team)) < total:
            _view(team, name=f"v{len(_state(team))}", filters={"status": ["todo"]})
        client.get("/api/v1/projects/WEB/views/")
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/projects/WEB/views/")
        assert response.json()["count"] == total
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
