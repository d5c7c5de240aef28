"""Saved views on the pages: save the current list as a view, open it (?view=), see it
in the side navigation; wrong role, bad input, others' private views, constant queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.savedviews.models import SavedView
from tenant_apps.savedviews.services import view_create
from tests.conftest import client_for
from tests.tenant_apps.savedviews.test_api import _state
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


@pytest.mark.django_db
def test_save_current_view_then_open_it_from_the_navigation(team):
    team.task("urgent one", priority=4)
    team.task("calm one")
    client = team.client("Developer")
    form = client.get("/projects/WEB/views/new/?priority=urgent&ordering=-updated&layout=list")
    assert form.status_code == 200
    assert "priority=urgent" in form.text
    response = client.post(
        "/projects/WEB/views/new/",
        {"query": "priority=urgent&ordering=-updated", "name": "Urgent", "layout": "list",
         "columns": ["status", "priority"]},
    )  # fmt: skip
    assert response.status_code == 302
    with schema_context(team.organization.schema_name):
        view = SavedView.objects.get()
    assert (view.filters, view.ordering, view.columns, view.shared) == (
        {"priority": ["urgent"]},
        "-updated",
        ["status", "priority"],
        False,
    )
    assert response["Location"] == f"/projects/WEB/list/?view={view.pk}"
    page = client.get(response["Location"]).text
    assert "urgent one" in page
    assert "calm one" not in page
    assert f'href="/projects/WEB/list/?view={view.pk}" aria-current="page"' in page  # in the side navigation
    assert "Urgent" in client.get("/projects/").text  # listed on every page
    # Private: another member neither sees it in the navigation nor opens it.
    other = team.client("Viewer")
    assert f"?view={view.pk}" not in other.get("/projects/").text
    assert other.get(f"/projects/WEB/list/?view={view.pk}").status_code == 404
    assert other.get("/projects/WEB/list/?view=abc").status_code == 404


@pytest.mark.django_db
def test_save_view_bad_input_inline_and_sharing_needs_project_manage(team):
    client = team.client("Developer")
    before = _state(team)
    response = client.post("/projects/WEB/views/new/", {"query": "priority=huge", "name": "x", "layout": "list"})
    assert response.status_code == 400
    assert "form-errors" in response.text
    response = client.post("/projects/WEB/views/new/", {"query": "", "name": "", "layout": "list"})
    assert response.status_code == 400
    response = client.post("/projects/WEB/views/new/", {"query": "", "name": "Team", "shared": "on"})
    assert response.status_code == 403  # sharing needs project.manage (the form does not offer it)
    assert _state(team) == before
    assert team.client("guest").get("/projects/WEB/views/new/").status_code == 404
    assert client_for(None, team.users["Developer"]).get("/projects/WEB/views/new/").status_code in (302, 404)


@pytest.mark.django_db
def test_delete_view_only_by_owner_or_manager(team):
    with schema_context(team.organization.schema_name):
        view = view_create(project=team.web, actor=team.members["Project Manager"], name="Team", shared=True)
    before = _state(team)
    assert team.client("Viewer").post(f"/projects/WEB/views/{view.pk}/delete/").status_code == 403
    assert team.client("guest").post(f"/projects/WEB/views/{view.pk}/delete/").status_code == 404
    assert _state(team) == before
    assert team.client("Project Manager").post(f"/projects/WEB/views/{view.pk}/delete/").status_code == 302
    assert _state(team) == []


@pytest.mark.django_db
def test_navigation_with_saved_views_costs_constant_queries(team):
    client = team.client("Developer")
    counts = []
    for total in (1, 6):
        while len(_state(team)) < total:
            with schema_context(team.organization.schema_name):
                view_create(project=team.web, actor=team.members["Developer"], name=f"v{len(_state(team))}")
        client.get("/projects/")
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/projects/")
        assert page.text.count("?view=") == total
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
