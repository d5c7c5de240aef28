"""The web application's task pages (board, list, task page, new task) through the
Django client: happy paths, bad input, wrong role, other tenant, query counts."""

import pytest
from django_tenants.utils import schema_context

from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _in(team, fn):
    with schema_context(team.organization.schema_name):
        return fn()


@pytest.mark.django_db
def test_every_page_renders_in_the_shell(team):
    task = team.task("Write the docs")
    client = team.client("Developer")
    for url in (
        "/",
        "/projects/",
        "/projects/WEB/",
        "/projects/WEB/list/",
        "/tasks/",
        f"/tasks/{task.key}/",
        "/tasks/new/",
        "/inbox/",
        "/search/?q=docs",
        "/soon/members/",
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert 'class="topbar"' in response.text, url
        assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "Write the docs" in client.get("/projects/WEB/").text
    assert "<mark>docs</mark>" in client.get("/search/?q=docs").text
