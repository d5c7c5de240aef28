"""The project list is served from a per-organisation cache. Every change that can alter
what someone sees must show on the very next request, and the cache must never show a
project to someone who may not see it, or one organisation's projects to another."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.memberships import membership_role_change
from shared_apps.tenants.models import Membership, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import ProjectMember, Role
from tenant_apps.projects.services import (
    project_create,
    project_delete,
    project_member_remove,
    project_member_set,
    project_update,
    role_create,
    role_update,
)
from tests.conftest import client_for
from tests.factories import UserFactory

PROJECTS = "/api/v1/projects/"


def _keys(client, query: str = "") -> list[str]:
    response = client.get(f"{PROJECTS}{query}")
    assert response.status_code == 200, response.content
    return [item["key"] for item in response.json()["results"]]


@pytest.fixture
def alpha(org_a):
    """Alpha with projects WEB and OPS (by the owner), a member and a guest."""
    people = {}
    for role in (OrgRole.MEMBER, OrgRole.GUEST):
        people[role] = UserFactory(email=f"{role}@alpha.test")
        membership_add(organization=org_a, user=people[role], role=role)
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        projects = {key: project_create(key=key, name=key.title(), actor=owner) for key in ("WEB", "OPS")}
        guest = Member.objects.get(user_id=people[OrgRole.GUEST].pk)
    return {"org": org_a, "people": people, "projects": projects, "owner": owner, "guest": guest}


@pytest.mark.django_db
def test_a_cached_project_list_costs_no_project_query(alpha):
    client = client_for(alpha["org"], alpha["people"][OrgRole.MEMBER])
    assert _keys(client) == ["OPS", "WEB"]
    with CaptureQueriesContext(connection) as queries:
        assert _keys(client) == ["OPS", "WEB"]
    assert not [q for q in queries.captured_queries if "projects_project" in q["sql"]], queries.captured_queries


@pytest.mark.django_db
def test_project_writes_show_on_the_next_request(alpha):
    org = alpha["org"]
    client = client_for(org, alpha["people"][OrgRole.MEMBER])
    assert _keys(client) == ["OPS", "WEB"]  # cached now
    with schema_context(org.schema_name):
        project_create(key="API", name="Api", actor=alpha["owner"])
    assert _keys(client) == ["API", "OPS", "WEB"]

    with schema_context(org.schema_name):
        project_update(project=alpha["projects"]["WEB"], data={"name": "Website", "archived": True})
    listed = {item["key"]: item for item in client.get(PROJECTS).json()["results"]}
    assert (listed["WEB"]["name"], listed["WEB"]["archived"]) == ("Website", True)
    assert _keys(client, "?archived=true") == ["WEB"]
    assert _keys(client, "?archived=false") == ["API", "OPS"]
    assert client.get("/api/v1/projects/WEB/").json()["name"] == "Website"  # detail from the same cache

    with schema_context(org.schema_name):
        project_delete(project=alpha["projects"]["OPS"], confirm_key="OPS")
    assert _keys(client) == ["API", "WEB"]
    assert client.get("/api/v1/projects/OPS/").status_code == 404


@pytest.mark.django_db
def test_a_guest_sees_a_project_exactly_while_a_role_there_allows_it(alpha):
    org, guest = alpha["org"], alpha["guest"]
    web = alpha["projects"]["WEB"]
    client = client_for(org, alpha["people"][OrgRole.GUEST])
    assert _keys(client) == []
    assert client.get("/api/v1/projects/WEB/").status_code == 404

    with schema_context(org.schema_name):
        project_member_set(project=web, member=guest, role=Role.objects.get(name="Viewer"))
    assert _keys(client) == ["WEB"]
    assert client.get("/api/v1/projects/WEB/").status_code == 200

    # A custom role that loses project.view hides the project at once.
    with schema_context(org.schema_name):
        custom = role_create(name="Triage", permissions=["project.view", "task.change_status"])
        project_member_set(project=web, member=guest, role=custom)
    assert _keys(client) == ["WEB"]
    with schema_context(org.schema_name):
        role_update(role=custom, permissions=["task.change_status"])
    assert _keys(client) == []
    assert client.get("/api/v1/projects/WEB/tasks/").status_code == 404

    with schema_context(org.schema_name):
        role_update(role=custom, permissions=["project.view"])
    assert _keys(client) == ["WEB"]
    with schema_context(org.schema_name):
        project_member_remove(project_member=ProjectMember.objects.get(project=web, member=guest))
    assert _keys(client) == []

    # Other projects created meanwhile never reach the guest's list.
    with schema_context(org.schema_name):
        project_create(key="NEW", name="New", actor=alpha["owner"])
    assert _keys(client) == []


@pytest.mark.django_db
def test_an_organisation_role_change_applies_to_the_cached_list_at_once(alpha):
    org = alpha["org"]
    member_user = alpha["people"][OrgRole.MEMBER]
    client = client_for(org, member_user)
    assert _keys(client) == ["OPS", "WEB"]
    owner = Membership.objects.get(organization=org, user__email="owner@alpha.test")
    membership_role_change(
        membership=Membership.objects.get(organization=org, user=member_user),
        role=OrgRole.GUEST,
        actor=owner,
    )
    assert _keys(client) == []  # a guest now: no project role anywhere
    assert client.post(PROJECTS, {"key": "NOPE", "name": "x"}, content_type="application/json").status_code == 403


@pytest.mark.django_db
def test_the_cache_is_per_organisation(alpha, org_b):
    bravo_owner = User.objects.get(email="owner@bravo.test")
    with schema_context(org_b.schema_name):
        project_create(key="WEB", name="Bravo web", actor=Member.objects.get(user_id=bravo_owner.pk))
    alpha_client = client_for(alpha["org"], alpha["people"][OrgRole.MEMBER])
    bravo_client = client_for(org_b, bravo_owner)
    for _round in range(2):  # cold, then cached
        assert {p["key"]: p["name"] for p in alpha_client.get(PROJECTS).json()["results"]} == {
            "OPS": "Ops",
            "WEB": "Web",
        }
        assert {p["key"]: p["name"] for p in bravo_client.get(PROJECTS).json()["results"]} == {"WEB": "Bravo web"}
    assert bravo_client.get("/api/v1/projects/OPS/").status_code == 404
    # Alpha's member is nobody in bravo.
    assert client_for(org_b, alpha["people"][OrgRole.MEMBER]).get(PROJECTS).status_code == 403


@pytest.mark.django_db
def test_project_descriptions_are_rendered_safely(alpha):
    client = client_for(alpha["org"], User.objects.get(email="owner@alpha.test"))
    response = client.patch(
        "/api/v1/projects/WEB/", {"description": "**Site** <script>x()</script>"}, content_type="application/json"
    )
    assert response.json()["description_html"] == "<p><strong>Site</strong> </p>"
    listed = {item["key"]: item for item in client.get(PROJECTS).json()["results"]}
    assert listed["WEB"]["description_html"] == "<p><strong>Site</strong> </p>"
    assert listed["OPS"]["description_html"] == ""
