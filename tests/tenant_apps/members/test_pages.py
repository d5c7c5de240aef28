"""The organisation pages: Members (invite several, resend, copy link, withdraw, change a
role, remove; the last-owner rule shown before the click; the plan limit's message and
upgrade link), Roles (create/edit from codes, usage, delete with reassignment) and the
Audit log (filters, pagination, CSV). Each: happy path, bad input, wrong role, other
tenant, constant query counts for the lists."""

import csv
import io
import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.audit.models import AuditEntry
from shared_apps.tenants.memberships import invitation_create
from shared_apps.tenants.models import Invitation, Membership, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import ProjectMember, Role
from tenant_apps.projects.services import project_create, project_member_set, role_create
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.shared_apps.billing.conftest import on_plan, set_allowance

PAGES = ["/settings/members/", "/settings/roles/", "/settings/roles/new/", "/settings/audit/"]


@pytest.fixture
def people(org_a) -> dict:
    """One person per organisation role in alpha (its session owner is the owner)."""
    people = {OrgRole.OWNER: Membership.objects.get(organization=org_a, user__email="owner@alpha.test").user}
    for role in (OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST):
        people[role] = UserFactory(email=f"{role}@alpha.test", full_name=f"{role.title()} Person")
        membership_add(organization=org_a, user=people[role], role=role)
    return people


def _client(org, people, role):
    return client_for(org, people[role])


def _membership(org, user) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def _member(org, user) -> Member:
    with schema_context(org.schema_name):
        return Member.objects.get(user_id=user.pk)


def _state(org) -> tuple:
    memberships = sorted(Membership.objects.filter(organization=org).values_list("user_id", "role"))
    invitations = sorted(
        Invitation.objects.filter(organization=org).values_list("email", "role", "token_digest", "revoked_at")
    )
    with schema_context(org.schema_name):
        members = sorted(Member.objects.values_list("user_id", "role", "is_active"))
        roles = sorted(Role.objects.values_list("name", "permissions"))
        holders = sorted(ProjectMember.objects.values_list("member_id", "role__name"))
    return memberships, invitations, members, roles, holders


# --- Members ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_page_lists_people_roles_projects_and_pending_invitations(org_a, people):
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project = project_create(key="WEB", name="Website", actor=owner)
        project_member_set(
            project=project,
            member=Member.objects.get(user_id=people["member"].pk),
            role=Role.objects.get(name="Viewer"),
        )
    invitation_create(
        organization=org_a, email="pending@example.test", role="member", actor=_membership(org_a, people["owner"])
    )
    page = _client(org_a, people, "owner").get("/settings/members/")
    assert page.status_code == 200
    text = page.text
    for email in ("owner@alpha.test", "admin@alpha.test", "member@alpha.test", "guest@alpha.test"):
        assert email in text
    assert "Viewer" in text
    assert "WEB" in text
    assert "pending@example.test" in text
    assert "Resend" in text
    assert "Withdraw" in text
    assert "Copy link" in text
    # The last-owner rule is said before any click: no remove button for the only owner.
    owner_row = re.search(rf'<tr id="member-{_member(org_a, people["owner"]).pk}">.*?</tr>', text, re.S).group(0)
    assert "The only owner" in owner_row
    assert "member-remove" not in owner_row
    assert "/remove/" not in owner_row


@pytest.mark.django_db
def test_invite_several_addresses_at_once_new_and_existing_users(org_a, people, django_capture_on_commit_callbacks):
    UserFactory(email="existing@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(org_a, people, "admin").post(
            "/settings/members/",
            {"emails": "new@example.test, Existing@example.test\nnew@example.test", "role": "member"},
        )
    assert response.status_code == 200, response.text
    pending = Invitation.objects.filter(organization=org_a, accepted_at=None, revoked_at=None)
    assert sorted(pending.values_list("email", "role")) == [
        ("existing@example.test", "member"),
        ("new@example.test", "member"),
    ]
    assert sorted(message.to[0] for message in mail.outbox) == ["existing@example.test", "new@example.test"]
    assert response.text.count("/invitations/") >= 2  # the links, shown once to copy
    with schema_context(org_a.schema_name):
        assert AuditEntry.objects.filter(action="invitation.sent").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("emails", "role", "error"),
    [
        ("", "member", "Enter at least one email address"),
        ("ok@example.test, not-an-email", "member", "is not an email address"),
        ("ok@example.test, admin@alpha.test", "member", "already a member"),
        ("ok@example.test", "emperor", "Select a valid choice"),
        (" ".join(f"p{i}@example.test" for i in range(21)), "member", "At most 20"),
        ("x" * 5001, "member", "at most 5000"),
    ],
)
def test_invite_refuses_bad_input_inline_and_invites_nobody(org_a, people, emails, role, error):
    before = _state(org_a)
    response = _client(org_a, people, "owner").post("/settings/members/", {"emails": emails, "role": role})
    assert response.status_code == 400
    assert error in response.text
    assert _state(org_a) == before
    assert mail.outbox == []


@pytest.mark.django_db
def test_admins_cannot_invite_owners(org_a, people):
    before = _state(org_a)
    page = _client(org_a, people, "admin").get("/settings/members/").text
    assert '<option value="owner"' not in page
    response = _client(org_a, people, "admin").post("/settings/members/", {"emails": "x@example.test", "role": "owner"})
    assert response.status_code == 400
    assert _state(org_a) == before


@pytest.mark.django_db
def test_plan_limit_shows_its_message_and_the_upgrade_link(settings, org_a, people):
    settings.STRIPE_SECRET_KEY = "sk_test_tessera"  # billing on: plan limits apply
    on_plan(org_a)
    set_allowance("free", max_members=4)  # alpha has 4 people: the next one does not fit
    before = _state(org_a)
    response = _client(org_a, people, "owner").post(
        "/settings/members/", {"emails": "one@example.test two@example.test", "role": "member"}
    )
    assert response.status_code == 402
    assert "/billing/" in response.text
    assert "Upgrade the plan" in response.text
    assert _state(org_a) == before


@pytest.mark.django_db
def test_resend_copy_link_and_withdraw_an_invitation(org_a, people, django_capture_on_commit_callbacks):
    invitation, token = invitation_create(
        organization=org_a, email="sam@example.test", role="member", actor=_membership(org_a, people["owner"])
    )
    mail.outbox.clear()
    client = _client(org_a, people, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/settings/invitations/{invitation.pk}/resend/").status_code == 302
    assert [message.to for message in mail.outbox] == [["sam@example.test"]]
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None  # the old link stops working
    renewed = Invitation.objects.get(organization=org_a, email="sam@example.test", revoked_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/invitations/{renewed.pk}/link/")
    assert response.status_code == 200
    link = re.search(r'data-copy="(http[^"]+/invitations/[^"]+/)"', response.text).group(1)
    assert len(mail.outbox) == 1  # a copied link is not emailed
    newest = Invitation.objects.get(organization=org_a, email="sam@example.test", revoked_at=None)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert newest.pk != renewed.pk
    anonymous = client_for(org_a)
    assert anonymous.get(f"/invitations/{token}/").status_code == 200
    assert client.post(f"/settings/invitations/{newest.pk}/withdraw/").status_code == 302
    newest.refresh_from_db()
    assert newest.revoked_at is not None
    assert anonymous.get(f"/invitations/{token}/").status_code == 400
    assert client.post(f"/settings/invitations/{newest.pk}/explode/").status_code == 404


@pytest.mark.django_db
def test_change_a_members_role_and_the_last_owner_rule(org_a, people):
    owner = _client(org_a, people, "owner")
    member_id = _member(org_a, people["member"]).pk
    assert owner.post(f"/settings/members/{member_id}/role/", {"role": "admin"}).status_code == 302
    assert _membership(org_a, people["member"]).role == "admin"
    before = _state(org_a)
    own_id = _member(org_a, people["owner"]).pk
    response = owner.post(f"/settings/members/{own_id}/role/", {"role": "member"})
    assert response.status_code == 400
    assert "at least one owner" in response.text
    response = owner.post(f"/settings/members/{own_id}/remove/")
    assert response.status_code == 400
    assert "at least one owner" in response.text
    response = owner.post(f"/settings/members/{member_id}/role/", {"role": "emperor"})
    assert response.status_code == 400
    assert _state(org_a) == before


@pytest.mark.django_db
def test_remove_a_member_ends_their_open_session_at_once(org_a, people):
    removed = _client(org_a, people, "member")
    # Their session is open and its membership cached (page, API, live poll all answer).
    assert removed.get("/").status_code == 200
    assert removed.get("/api/v1/members/").status_code == 200
    member_id = _member(org_a, people["member"]).pk
    response = _client(org_a, people, "admin").post(f"/settings/members/{member_id}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(organization=org_a, user=people["member"]).exists()
    # The same browser session, the very next request: refused everywhere in this organisation.
    assert removed.get("/").status_code == 403
    assert removed.get("/projects/").status_code == 403
    assert removed.get("/api/v1/members/").status_code == 403
    assert removed.get("/live/").status_code in (403, 404)
    with schema_context(org_a.schema_name):
        assert not Member.objects.get(user_id=people["member"].pk).is_active
        assert AuditEntry.objects.filter(action="membership.removed", target_label="member@alpha.test").exists()


@pytest.mark.django_db
def test_admin_cannot_change_or_remove_an_owner(org_a, people):
    second_owner = UserFactory(email="owner2@alpha.test")
    membership_add(organization=org_a, user=second_owner, role=OrgRole.OWNER)
    admin = _client(org_a, people, "admin")
    page = admin.get("/settings/members/").text
    assert "Only an owner can change or remove an owner" in page
    before = _state(org_a)
    owner_id = _member(org_a, second_owner).pk
    assert admin.post(f"/settings/members/{owner_id}/role/", {"role": "member"}).status_code == 403
    assert admin.post(f"/settings/members/{owner_id}/remove/").status_code == 403
    assert _state(org_a) == before


# --- Roles --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_roles_page_shows_codes_descriptions_and_usage(org_a, people):
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project_create(key="WEB", name="Website", actor=owner)
    page = _client(org_a, people, "admin").get("/settings/roles/")
    assert page.status_code == 200
    for name in ("Project Manager", "Developer", "Reporter", "Viewer"):
        assert name in page.text
    assert "WEB" in page.text  # the owner is Project Manager of WEB
    form = _client(org_a, people, "admin").get("/settings/roles/new/").text
    assert "task.change_status" in form
    assert "Move tasks between statuses" in form  # the registry's description
    assert "<legend>Tasks</legend>" in form


@pytest.mark.django_db
def test_create_edit_and_delete_a_custom_role_with_reassignment(org_a, people):
    client = _client(org_a, people, "admin")
    response = client.post(
        "/settings/roles/new/", {"name": "QA", "permissions": ["project.view", "task.change_status"]}
    )
    assert response.status_code == 302
    with schema_context(org_a.schema_name):
        qa = Role.objects.get(name="QA")
        assert qa.permissions == ["project.view", "task.change_status"]
        project = project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))
        project_member_set(project=project, member=Member.objects.get(user_id=people["member"].pk), role=qa)
    response = client.post(f"/settings/roles/{qa.pk}/", {"name": "QA team", "permissions": ["project.view"]})
    assert response.status_code == 302
    assert "WEB" in client.get(f"/settings/roles/{qa.pk}/delete/").text
    before = _state(org_a)
    response = client.post(f"/settings/roles/{qa.pk}/delete/", {"reassign_to": ""})
    assert response.status_code == 400
    assert "choose a role to reassign them to" in response.text
    assert _state(org_a) == before
    with schema_context(org_a.schema_name):
        viewer = Role.objects.get(name="Viewer")
    assert client.post(f"/settings/roles/{qa.pk}/delete/", {"reassign_to": viewer.pk}).status_code == 302
    with schema_context(org_a.schema_name):
        assert not Role.objects.filter(pk=qa.pk).exists()
        assert ProjectMember.objects.get(member__user_id=people["member"].pk).role == viewer
        actions = list(AuditEntry.objects.filter(action__startswith="role.").values_list("action", flat=True))
    assert sorted(actions) == ["role.changed", "role.created", "role.deleted"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "permissions": ["project.view"]},
        {"name": "Developer", "permissions": ["project.view"]},
        {"name": "x" * 61, "permissions": []},
        {"name": "Ok", "permissions": ["root.everything"]},
    ],
)
def test_role_form_refuses_bad_input_inline(org_a, people, data):
    before = _state(org_a)
    response = _client(org_a, people, "owner").post("/settings/roles/new/", data)
    assert response.status_code == 400
    assert 'class="errorlist' in response.text or "form-errors" in response.text
    assert _state(org_a) == before


@pytest.mark.django_db
def test_builtin_roles_cannot_be_edited_or_deleted(org_a, people):
    with schema_context(org_a.schema_name):
        viewer = Role.objects.get(name="Viewer")
    before = _state(org_a)
    client = _client(org_a, people, "owner")
    response = client.post(f"/settings/roles/{viewer.pk}/", {"name": "Viewer", "permissions": sorted(["task.delete"])})
    assert response.status_code == 400
    assert "Built-in roles cannot be changed" in response.text
    response = client.post(f"/settings/roles/{viewer.pk}/delete/", {"reassign_to": ""})
    assert response.status_code == 400
    assert _state(org_a) == before
    assert client.get("/settings/roles/999999/").status_code == 404


# --- Audit log ----------------------------------------------------------------------------


def _entries(org, count: int, action: str = "role.created") -> None:
    with schema_context(org.schema_name):
        AuditEntry.objects.bulk_create(
            AuditEntry(actor_kind="system", action=action, target_type="role", target_label=f"R{i}")
            for i in range(count)
        )


@pytest.mark.django_db
def test_audit_page_filters_paginates_and_exports(org_a, people):
    client = _client(org_a, people, "owner")
    client.post("/settings/roles/new/", {"name": "QA", "permissions": ["project.view"]})
    _entries(org_a, 60, action="project.archived")
    page = client.get("/settings/audit/")
    assert page.status_code == 200
    assert "Page 1 of 2" in page.text
    assert "Older" in page.text
    only_roles = client.get("/settings/audit/", {"action": "role.created", "actor": people["owner"].pk})
    assert only_roles.status_code == 200
    assert "QA" in only_roles.text
    assert "project.archived" not in only_roles.text.split("<tbody>")[1]
    assert 'href="/settings/audit/export/?action=role.created' in only_roles.text
    export = client.get("/settings/audit/export/", {"action": "role.created"})
    assert export.status_code == 200
    assert export["Content-Disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(row["action"], row["target_label"]) for row in rows] == [("role.created", "QA")]
    dated = client.get("/settings/audit/", {"date_from": "2000-01-01", "date_to": "2000-01-02"})
    assert "No entries match" in dated.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"action": "rm -rf"},
        {"actor": "abc"},
        {"date_from": "yesterday"},
        {"date_from": "2026-12-02", "date_to": "2026-12-01"},
        {"page": "nope", "action": "x" * 500},
    ],
)
def test_audit_page_refuses_bad_filters(org_a, people, query):
    client = _client(org_a, people, "admin")
    response = client.get("/settings/audit/", query)
    assert response.status_code == 400
    assert 'class="errorlist' in response.text
    assert client.get("/settings/audit/export/", query).status_code == 400


# --- Every page: wrong role, other tenant, query counts ------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.MEMBER, OrgRole.GUEST])
def test_wrong_role_gets_403_and_changes_nothing(org_a, people, role):
    client = _client(org_a, people, role)
    for url in [*PAGES, "/settings/audit/export/"]:
        assert client.get(url).status_code == 403, url
    with schema_context(org_a.schema_name):
        viewer = Role.objects.get(name="Viewer")
        custom = role_create(name="Custom", permissions=["project.view"])
    invitation, _token = invitation_create(
        organization=org_a, email="x@example.test", role="member", actor=_membership(org_a, people["owner"])
    )
    target = _member(org_a, people["admin"]).pk
    before = _state(org_a)
    posts = [
        ("/settings/members/", {"emails": "y@example.test", "role": "member"}),
        (f"/settings/members/{target}/role/", {"role": "guest"}),
        (f"/settings/members/{target}/remove/", {}),
        (f"/settings/invitations/{invitation.pk}/resend/", {}),
        (f"/settings/invitations/{invitation.pk}/withdraw/", {}),
        ("/settings/roles/new/", {"name": "Sneaky", "permissions": ["task.delete"]}),
        (f"/settings/roles/{custom.pk}/", {"name": "Sneaky", "permissions": ["task.delete"]}),
        (f"/settings/roles/{custom.pk}/delete/", {"reassign_to": viewer.pk}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert _state(org_a) == before


@pytest.mark.django_db
def test_other_tenants_owner_sees_nothing_here(org_a, org_b, people):
    outsider = Membership.objects.get(organization=org_b, role=OrgRole.OWNER).user
    client = client_for(org_a, outsider)
    with schema_context(org_a.schema_name):
        custom = role_create(name="Custom", permissions=["project.view"])
    target = _member(org_a, people["member"]).pk
    before = _state(org_a)
    for url in [*PAGES, "/settings/audit/export/"]:
        assert client.get(url).status_code == 403, url
    for url in (f"/settings/members/{target}/remove/", f"/settings/roles/{custom.pk}/delete/"):
        assert client.post(url).status_code == 403
    assert _state(org_a) == before
    # Bravo's own pages show bravo's people only, and alpha's ids are not found there.
    own = client_for(org_b, outsider)
    assert "admin@alpha.test" not in own.get("/settings/members/").text
    assert own.post(f"/settings/members/{target}/remove/").status_code == 404
    invitation, _token = invitation_create(
        organization=org_a, email="x@example.test", role="member", actor=_membership(org_a, people["owner"])
    )
    assert own.post(f"/settings/invitations/{invitation.pk}/withdraw/").status_code == 404
    assert "x@example.test" not in own.get("/settings/members/").text


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES[:2] + PAGES[3:])
def test_list_pages_queries_stay_constant(org_a, people, url):
    client = _client(org_a, people, "owner")
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        for index in range(3):
            project = project_create(key=f"P{index}X", name=f"Project {index}", actor=owner)
            user = UserFactory()
            membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
            role = role_create(name=f"Role {index}", permissions=["project.view"])
            project_member_set(project=project, member=Member.objects.get(user_id=user.pk), role=role)
    for index in range(3):
        invitation_create(
            organization=org_a, email=f"i{index}@example.test", role="member", actor=_membership(org_a, people["owner"])
        )
    client.get(url)
    with CaptureQueriesContext(connection) as second:
        assert client.get(url).status_code == 200
    assert len(second) == len(first), url


@pytest.mark.django_db
def test_members_page_in_russian(org_a, people):
    client = _client(org_a, people, "owner")
    client.cookies["django_language"] = "ru"
    page = client.get("/settings/members/", HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 200
    assert "Пригласить людей" in page.text
    assert "Журнал аудита" in page.text
