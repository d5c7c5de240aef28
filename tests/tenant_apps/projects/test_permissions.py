import re
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.tokens import api_token_create
from shared_apps.tenants.memberships import membership_role_change
from shared_apps.tenants.models import Membership, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.projects.permissions import project_permissions
from tenant_apps.projects.registry import ALL_CODES, BUILTIN_ROLES, PERMISSIONS
from tenant_apps.projects.services import (
    project_create,
    project_member_remove,
    project_member_set,
    role_create,
    role_update,
)
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import assert_allowed_or_refused

BUILTINS = list(BUILTIN_ROLES)


def _member(organization, role=OrgRole.MEMBER):
    user = UserFactory()
    membership_add(organization=organization, user=user, role=role)
    with schema_context(organization.schema_name):
        return user, Member.objects.get(user_id=user.pk)


@pytest.fixture
def project(org_a):
    """Project WEB in alpha, created by alpha's owner (its Project Manager)."""
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        return project_create(key="WEB", name="Website", actor=owner)


def _state(organization) -> tuple:
    with schema_context(organization.schema_name):
        return (
            sorted(ProjectMember.objects.values_list("project_id", "member_id", "role_id")),
            sorted(Role.objects.values_list("id", "name", "permissions")),
        )


# --- The permission service ------------------------------------------------------------


@pytest.mark.django_db
def test_builtin_roles_are_seeded_in_every_organisation(org_a, org_b):
    for organization in (org_a, org_b):
        with schema_context(organization.schema_name):
            roles = {role.name: sorted(role.permissions) for role in Role.objects.filter(is_builtin=True)}
        assert roles == {name: sorted(codes) for name, codes in BUILTIN_ROLES.items()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("org_role", "project_role", "expected"),
    [
        (OrgRole.OWNER, None, ALL_CODES),
        (OrgRole.ADMIN, None, ALL_CODES),
        (OrgRole.MEMBER, None, {"project.view"}),
        (OrgRole.GUEST, None, set()),
        (OrgRole.GUEST, "Viewer", {"project.view"}),
        (OrgRole.MEMBER, "Developer", set(BUILTIN_ROLES["Developer"])),
        (OrgRole.GUEST, "Reporter", set(BUILTIN_ROLES["Reporter"])),
        (OrgRole.MEMBER, "Project Manager", ALL_CODES),
    ],
)
def test_permission_service_answers_from_org_and_project_roles(org_a, project, org_role, project_role, expected):
    _user, member = _member(org_a, org_role)
    with schema_context(org_a.schema_name):
        if project_role:
            project_member_set(project=project, member=member, role=Role.objects.get(name=project_role))
        assert project_permissions(member=member, project=project) == frozenset(expected)


@pytest.mark.django_db
def test_permission_answers_are_cached_and_invalidated_on_every_change(org_a, project):
    user, member = _member(org_a, OrgRole.MEMBER)
    with schema_context(org_a.schema_name):
        custom = role_create(name="QA", permissions=["project.view", "task.change_status"])
        project_member_set(project=project, member=member, role=custom)
        assert "task.change_status" in project_permissions(member=member, project=project)
        with CaptureQueriesContext(connection) as queries:
            project_permissions(member=member, project=project)
        assert queries.captured_queries == []  # served from the cache

        role_update(role=custom, permissions=["project.view"])
        assert "task.change_status" not in project_permissions(member=member, project=project)

        project_member_set(project=project, member=member, role=Role.objects.get(name="Project Manager"))
        assert project_permissions(member=member, project=project) == ALL_CODES

        # An organisation role change alone (no project change) must reach the cache:
        # without a project role, a member sees the project and a guest does not.
        project_member_remove(project_member=ProjectMember.objects.get(member=member))
        member.refresh_from_db()
        assert project_permissions(member=member, project=project) == {"project.view"}

    owner = Membership.objects.get(organization=org_a, user__email="owner@alpha.test")
    membership_role_change(
        membership=Membership.objects.get(organization=org_a, user=user), role=OrgRole.GUEST, actor=owner
    )
    with schema_context(org_a.schema_name):
        member.refresh_from_db()
        assert member.role == OrgRole.GUEST
        assert project_permissions(member=member, project=project) == frozenset()


@pytest.mark.django_db
def test_an_inactive_member_has_no_permissions(org_a, project):
    _user, member = _member(org_a, OrgRole.ADMIN)
    with schema_context(org_a.schema_name):
        Member.objects.filter(pk=member.pk).update(is_active=False)
        member.refresh_from_db()
        assert project_permissions(member=member, project=project) == frozenset()


def test_permissions_doc_lists_every_code_and_builtin_role():
    doc = (Path(__file__).resolve().parents[3] / "docs" / "permissions.md").read_text()
    for code in PERMISSIONS:
        assert f"`{code}`" in doc
    for role, codes in BUILTIN_ROLES.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| {role} |"))
        marked = {code for code in PERMISSIONS if re.search(rf"`{re.escape(code)}`", row)}
        assert marked == set(codes), role


# --- Roles API -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST])
def test_role_matrix_for_the_roles_api(org_a, role):
    user, _member_row = _member(org_a, role)
    client = client_for(org_a, user)
    allowed = role in (OrgRole.OWNER, OrgRole.ADMIN)
    with schema_context(org_a.schema_name):
        custom = role_create(name="Temp", permissions=["project.view"])

    assert client.get("/api/v1/roles/").status_code == 200
    calls = [
        lambda: client.post(
            "/api/v1/roles/", {"name": "QA", "permissions": ["project.view"]}, content_type="application/json"
        ),
        lambda: client.patch(f"/api/v1/roles/{custom.pk}/", {"name": "Temp 2"}, content_type="application/json"),
        lambda: client.delete(f"/api/v1/roles/{custom.pk}/"),
    ]
    assert_allowed_or_refused(calls, allowed=allowed, state=lambda: _state(org_a))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "QA", "permissions": ["task.fly"]}, "permissions"),
        ({"name": "", "permissions": []}, "name"),
        ({"name": "developer", "permissions": []}, "name"),
        ({"permissions": ["project.view"]}, "name"),
        ({"name": "QA", "permissions": "project.view"}, "permissions"),
    ],
)
def test_roles_api_refuses_bad_input(org_a, payload, field):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    before = _state(org_a)
    response = client.post("/api/v1/roles/", payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state(org_a) == before


@pytest.mark.django_db
def test_builtin_roles_cannot_be_changed_or_deleted(org_a):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    with schema_context(org_a.schema_name):
        viewer = Role.objects.get(name="Viewer")
    before = _state(org_a)
    assert (
        client.patch(f"/api/v1/roles/{viewer.pk}/", {"name": "Watcher"}, content_type="application/json").status_code
        == 400
    )
    assert client.delete(f"/api/v1/roles/{viewer.pk}/").status_code == 400
    assert _state(org_a) == before


@pytest.mark.django_db
def test_a_role_in_use_is_deleted_only_with_a_reassignment(org_a, project):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    _user, member = _member(org_a, OrgRole.MEMBER)
    with schema_context(org_a.schema_name):
        qa = role_create(name="QA", permissions=["project.view", "task.change_status"])
        project_member_set(project=project, member=member, role=qa)
        viewer = Role.objects.get(name="Viewer")

    refused = client.delete(f"/api/v1/roles/{qa.pk}/")
    assert refused.status_code == 400
    assert "reassign" in str(refused.json())
    assert client.delete(f"/api/v1/roles/{qa.pk}/?reassign_to=99999").status_code == 400
    assert client.delete(f"/api/v1/roles/{qa.pk}/?reassign_to=abc").status_code == 400

    assert client.delete(f"/api/v1/roles/{qa.pk}/?reassign_to={viewer.pk}").status_code == 204
    with schema_context(org_a.schema_name):
        assert not Role.objects.filter(pk=qa.pk).exists()
        assert ProjectMember.objects.get(member=member).role == viewer
        assert project_permissions(member=member, project=project) == {"project.view"}


@pytest.mark.django_db
def test_roles_list_query_count_is_constant(org_a):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    with schema_context(org_a.schema_name):
        for index in range(3):
            role_create(name=f"Custom {index}", permissions=["project.view"])
    client.get("/api/v1/roles/")
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get("/api/v1/roles/").json()["results"]) == 7
    # search_path, user, count, the page (session and membership from the cache)
    assert len(queries.captured_queries) == 4, [q["sql"] for q in queries.captured_queries]


# --- Project members API ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("project_role", BUILTINS)
def test_project_role_matrix_for_project_members(org_a, project, project_role):
    user, member = _member(org_a, OrgRole.MEMBER)
    _other_user, other = _member(org_a, OrgRole.MEMBER)
    with schema_context(org_a.schema_name):
        project_member_set(project=project, member=member, role=Role.objects.get(name=project_role))
        viewer = Role.objects.get(name="Viewer")
        developer = Role.objects.get(name="Developer")
    client = client_for(org_a, user)
    allowed = "project.manage" in BUILTIN_ROLES[project_role]
    base = "/api/v1/projects/WEB/members/"

    listed = client.get(base)
    assert listed.status_code == 200
    assert member.email in {item["email"] for item in listed.json()["results"]}
    calls = [
        lambda: client.post(base, {"member_id": other.pk, "role_id": viewer.pk}, content_type="application/json"),
        lambda: client.patch(f"{base}{other.pk}/", {"role_id": developer.pk}, content_type="application/json"),
        lambda: client.delete(f"{base}{other.pk}/"),
    ]
    if not allowed:
        with schema_context(org_a.schema_name):
            project_member_set(project=project, member=other, role=viewer)  # something to change
    assert_allowed_or_refused(calls, allowed=allowed, state=lambda: _state(org_a))


@pytest.mark.django_db
def test_org_admins_manage_any_project_and_guests_outside_it_see_404(org_a, project):
    admin_user, _admin = _member(org_a, OrgRole.ADMIN)
    guest_user, guest = _member(org_a, OrgRole.GUEST)
    with schema_context(org_a.schema_name):
        viewer = Role.objects.get(name="Viewer")
    base = "/api/v1/projects/WEB/members/"

    guest_client = client_for(org_a, guest_user)
    before = _state(org_a)
    assert guest_client.get(base).status_code == 404
    assert (
        guest_client.post(
            base, {"member_id": guest.pk, "role_id": viewer.pk}, content_type="application/json"
        ).status_code
        == 404
    )
    assert _state(org_a) == before

    admin = client_for(org_a, admin_user)
    assert (
        admin.post(base, {"member_id": guest.pk, "role_id": viewer.pk}, content_type="application/json").status_code
        == 201
    )
    assert guest_client.get(base).status_code == 200  # now a project member
    assert client_for(org_a, admin_user).get("/api/v1/projects/NOPE/members/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"member_id": 999999, "role_id": 1}, "member_id"),
        ({"role_id": 1}, "member_id"),
        ({"member_id": 1, "role_id": 999999}, "role_id"),
        ({"member_id": "x", "role_id": 1}, "member_id"),
    ],
)
def test_project_members_api_refuses_bad_input(org_a, project, payload, field):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    before = _state(org_a)
    response = client.post("/api/v1/projects/WEB/members/", payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state(org_a) == before


@pytest.mark.django_db
def test_project_members_list_query_count_is_constant(org_a, project):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    with schema_context(org_a.schema_name):
        viewer = Role.objects.get(name="Viewer")
    for _index in range(4):
        _user, member = _member(org_a)
        with schema_context(org_a.schema_name):
            project_member_set(project=project, member=member, role=viewer)
    client.get("/api/v1/projects/WEB/members/")
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get("/api/v1/projects/WEB/members/").json()["results"]) == 5
    # search_path, user, count, page (session, membership, member, project and
    # permissions from the cache)
    assert len(queries.captured_queries) == 4, [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_a_member_of_another_organisation_reaches_no_role_or_project_endpoint(org_a, org_b, project):
    outsider, _member_row = _member(org_b, OrgRole.OWNER)
    _token, key = api_token_create(user=outsider, name="script")
    before = _state(org_a)
    for client in (client_for(org_a, outsider), Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {key}")):
        responses = [
            client.get("/api/v1/roles/"),
            client.post("/api/v1/roles/", {"name": "Spy", "permissions": []}, content_type="application/json"),
            client.patch("/api/v1/roles/1/", {"name": "Spy"}, content_type="application/json"),
            client.delete("/api/v1/roles/1/"),
            client.get("/api/v1/projects/WEB/members/"),
            client.post(
                "/api/v1/projects/WEB/members/", {"member_id": 1, "role_id": 1}, content_type="application/json"
            ),
            client.patch("/api/v1/projects/WEB/members/1/", {"role_id": 1}, content_type="application/json"),
            client.delete("/api/v1/projects/WEB/members/1/"),
        ]
        assert [response.status_code for response in responses] == [403] * len(responses)
    assert _state(org_a) == before
    with schema_context(org_a.schema_name):
        assert Project.objects.filter(key="WEB").exists()


@pytest.mark.django_db
def test_the_commit_bump_reaches_the_organisation_even_outside_its_schema(
    org_a, project, django_capture_on_commit_callbacks
):
    """Admin actions and commands change memberships from the public schema: the bump
    after commit must still land in the organisation's cache."""
    from django.core.cache import cache

    from tenant_apps.projects.permissions import PERMISSIONS_CACHE

    version_key = PERMISSIONS_CACHE._version_key

    user, _member_row = _member(org_a, OrgRole.MEMBER)
    with schema_context(org_a.schema_name):
        before = PERMISSIONS_CACHE.version()
    owner = Membership.objects.get(organization=org_a, user__email="owner@alpha.test")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        membership_role_change(
            membership=Membership.objects.get(organization=org_a, user=user), role=OrgRole.GUEST, actor=owner
        )
    assert callbacks
    with schema_context(org_a.schema_name):
        assert cache.get(version_key) == before + 2  # once now, once on commit
    assert cache.get(version_key) is None  # nothing landed in public


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("roles", {"permissions": ["task.fly"]}, "permissions"),
        ("roles", {"name": ""}, "name"),
        ("roles", {"name": "Developer"}, "name"),
        ("members", {"role_id": 999999}, "role_id"),
        ("members", {"role_id": "x"}, "role_id"),
    ],
)
def test_patch_endpoints_refuse_bad_input(org_a, project, path, payload, field):
    client = client_for(org_a, Membership.objects.get(organization=org_a, role=OrgRole.OWNER).user)
    with schema_context(org_a.schema_name):
        custom = role_create(name="Custom", permissions=["project.view"])
        owner_member = Member.objects.get(email="owner@alpha.test")
    url = f"/api/v1/roles/{custom.pk}/" if path == "roles" else f"/api/v1/projects/WEB/members/{owner_member.pk}/"
    before = _state(org_a)
    response = client.patch(url, payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state(org_a) == before
