import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.accounts.tokens import api_token_create
from shared_apps.tenants.memberships import invitation_create, membership_role_change
from shared_apps.tenants.models import Invitation, Membership, Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import assert_allowed_or_refused, run_together

PASSWORD = "a-long-enough-passphrase-42"
ROLES = [OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST]


@pytest.fixture
def people(org_a) -> dict[str, User]:
    """One person per organisation role in alpha (its session owner is the owner)."""
    people = {OrgRole.OWNER: User.objects.get(email="owner@alpha.test")}
    for role in ROLES[1:]:
        people[role] = UserFactory(email=f"{role}@alpha.test")
        membership_add(organization=org_a, user=people[role], role=role)
    return people


def _member_id(organization, user) -> int:
    with schema_context(organization.schema_name):
        return Member.objects.get(user_id=user.pk).pk


def _state(organization) -> tuple:
    """Everything these endpoints can change, to assert that a refusal changed nothing."""
    memberships = sorted(Membership.objects.filter(organization=organization).values_list("user_id", "role"))
    invitations = sorted(Invitation.objects.filter(organization=organization).values_list("email", "revoked_at"))
    with schema_context(organization.schema_name):
        members = sorted(Member.objects.values_list("user_id", "role", "is_active"))
    return memberships, invitations, members


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_member_can_list_members(org_a, people, role):
    response = client_for(org_a, people[role]).get("/api/v1/members/")
    assert response.status_code == 200
    assert {item["email"] for item in response.json()["results"]} == {
        "owner@alpha.test",
        "admin@alpha.test",
        "member@alpha.test",
        "guest@alpha.test",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "allowed"),
    [(OrgRole.OWNER, True), (OrgRole.ADMIN, True), (OrgRole.MEMBER, False), (OrgRole.GUEST, False)],
)
def test_role_matrix_for_member_and_invitation_writes(org_a, people, actor, allowed):
    client = client_for(org_a, people[actor])
    target_user = UserFactory()
    membership_add(organization=org_a, user=target_user, role=OrgRole.GUEST)
    target = _member_id(org_a, target_user)
    invitation, _token = invitation_create(
        organization=org_a,
        email="pending@example.test",
        role=OrgRole.MEMBER,
        actor=Membership.objects.get(organization=org_a, user=people[OrgRole.OWNER]),
    )
    calls = [
        lambda: client.patch(f"/api/v1/members/{target}/", {"role": "member"}, content_type="application/json"),
        lambda: client.post("/api/v1/invitations/", {"email": "new@example.test"}, content_type="application/json"),
        lambda: client.get("/api/v1/invitations/"),
        lambda: client.delete(f"/api/v1/invitations/{invitation.pk}/"),
        lambda: client.delete(f"/api/v1/members/{target}/"),
    ]
    assert_allowed_or_refused(calls, allowed=allowed, state=lambda: _state(org_a))


@pytest.mark.django_db
def test_admins_cannot_touch_owners_or_grant_the_owner_role(org_a, people):
    admin = client_for(org_a, people[OrgRole.ADMIN])
    owner_id = _member_id(org_a, people[OrgRole.OWNER])
    member_id = _member_id(org_a, people[OrgRole.MEMBER])
    before = _state(org_a)

    assert (
        admin.patch(f"/api/v1/members/{owner_id}/", {"role": "admin"}, content_type="application/json").status_code
        == 403
    )
    assert admin.delete(f"/api/v1/members/{owner_id}/").status_code == 403
    assert (
        admin.patch(f"/api/v1/members/{member_id}/", {"role": "owner"}, content_type="application/json").status_code
        == 403
    )
    assert (
        admin.post(
            "/api/v1/invitations/", {"email": "x@example.test", "role": "owner"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert _state(org_a) == before


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(org_a, people):
    owner = client_for(org_a, people[OrgRole.OWNER])
    owner_id = _member_id(org_a, people[OrgRole.OWNER])
    before = _state(org_a)

    demote = owner.patch(f"/api/v1/members/{owner_id}/", {"role": "admin"}, content_type="application/json")
    leave = owner.delete(f"/api/v1/members/{owner_id}/")

    for response in (demote, leave):
        assert response.status_code == 400
        assert "at least one owner" in str(response.json())
    assert _state(org_a) == before

    # With a second owner, the first may step down.
    admin_id = _member_id(org_a, people[OrgRole.ADMIN])
    assert (
        owner.patch(f"/api/v1/members/{admin_id}/", {"role": "owner"}, content_type="application/json").status_code
        == 200
    )
    assert (
        owner.patch(f"/api/v1/members/{owner_id}/", {"role": "member"}, content_type="application/json").status_code
        == 200
    )
    with schema_context(org_a.schema_name):
        assert Member.objects.get(pk=owner_id).role == "member"


@pytest.mark.django_db
def test_a_removed_member_loses_access_at_once_session_and_token(org_a, people):
    person = people[OrgRole.MEMBER]
    session = client_for(org_a, person)
    _token, key = api_token_create(user=person, name="script")
    by_token = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {key}")
    assert session.get("/api/v1/members/").status_code == 200
    assert by_token.get("/api/v1/members/").status_code == 200

    removed = client_for(org_a, people[OrgRole.ADMIN]).delete(f"/api/v1/members/{_member_id(org_a, person)}/")

    assert removed.status_code == 204
    assert session.get("/api/v1/members/").status_code == 403
    assert by_token.get("/api/v1/members/").status_code == 403
    assert not Membership.objects.filter(organization=org_a, user=person).exists()
    with schema_context(org_a.schema_name):
        assert Member.objects.get(user_id=person.pk).is_active is False  # history kept


@pytest.mark.django_db
def test_a_member_can_leave(org_a, people):
    person = people[OrgRole.GUEST]
    client = client_for(org_a, person)
    assert client.delete(f"/api/v1/members/{_member_id(org_a, person)}/").status_code == 204
    assert client.get("/api/v1/members/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/api/v1/invitations/", {"email": "not-an-email"}, "email"),
        ("/api/v1/invitations/", {"email": "x@example.test", "role": "king"}, "role"),
        ("/api/v1/invitations/", {"email": "member@alpha.test"}, "email"),
        ("/api/v1/invitations/accept/", {}, "token"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(org_a, people, path, payload, field):
    before = _state(org_a)
    response = client_for(org_a, people[OrgRole.OWNER]).post(path, payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state(org_a) == before


@pytest.mark.django_db
def test_bad_role_on_patch_is_a_400(org_a, people):
    member_id = _member_id(org_a, people[OrgRole.MEMBER])
    response = client_for(org_a, people[OrgRole.OWNER]).patch(
        f"/api/v1/members/{member_id}/", {"role": "king"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "role" in response.json()


@pytest.mark.django_db
def test_a_member_of_another_organisation_gets_nothing_here(org_a, org_b, people):
    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)
    _token, key = api_token_create(user=outsider, name="script")
    member_id = _member_id(org_a, people[OrgRole.MEMBER])
    before = _state(org_a)
    for client in (client_for(org_a, outsider), Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {key}")):
        responses = [
            client.get("/api/v1/members/"),
            client.patch(f"/api/v1/members/{member_id}/", {"role": "owner"}, content_type="application/json"),
            client.delete(f"/api/v1/members/{member_id}/"),
            client.get("/api/v1/invitations/"),
            client.post("/api/v1/invitations/", {"email": "spy@example.test"}, content_type="application/json"),
            client.get("/api/v1/organization/"),
        ]
        assert [response.status_code for response in responses] == [403] * len(responses)
        assert all("alpha.test" not in response.text for response in responses)
    assert _state(org_a) == before


@pytest.mark.django_db
def test_ids_from_another_organisation_are_404(org_a, org_b, people, invite):
    """Member ids are per schema and invitation ids are filtered by organisation: an id
    taken from bravo never reaches bravo's rows through alpha's domain."""
    stranger = UserFactory()
    membership_add(organization=org_b, user=stranger, role=OrgRole.MEMBER)
    bravo_member = _member_id(org_b, stranger)
    with schema_context(org_a.schema_name):
        missing = max(Member.objects.order_by("-pk").first().pk, bravo_member) + 1
    bravo_owner = Membership.objects.get(organization=org_b, role=OrgRole.OWNER)
    bravo_invitation, _token = invitation_create(
        organization=org_b, email="b@example.test", role="member", actor=bravo_owner
    )
    owner = client_for(org_a, people[OrgRole.OWNER])

    assert owner.delete(f"/api/v1/members/{missing}/").status_code == 404
    assert owner.delete(f"/api/v1/invitations/{bravo_invitation.pk}/").status_code == 404
    bravo_invitation.refresh_from_db()
    assert bravo_invitation.revoked_at is None
    assert Membership.objects.filter(organization=org_b, user=stranger).exists()


@pytest.mark.django_db
def test_list_query_counts_are_constant(org_a, people):
    owner = client_for(org_a, people[OrgRole.OWNER])
    actor = Membership.objects.get(organization=org_a, user=people[OrgRole.OWNER])
    for index in range(4):
        invitation_create(organization=org_a, email=f"i{index}@example.test", role="member", actor=actor)
    owner.get("/api/v1/members/")
    for path, expected in [("/api/v1/members/", 4), ("/api/v1/invitations/", 4)]:
        with CaptureQueriesContext(connection) as queries:
            assert owner.get(path).status_code == 200
        # search_path, user, count, the page (session and membership from the cache)
        assert len(queries.captured_queries) == expected, [q["sql"] for q in queries.captured_queries]


# --- Invitations ---------------------------------------------------------------------


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Send an invitation through the API (its email goes out on commit); return the
    token from the emailed link."""

    def send(client, email="sam@example.test", role="member") -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/invitations/", {"email": email, "role": role}, content_type="application/json"
            )
        return _token_from(response, email)

    return send


def _token_from(response, email) -> str:
    assert response.status_code == 201, response.content
    message = mail.outbox[-1]
    assert message.to == [email]
    match = re.search(r"http://alpha\.localhost/invitations/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.django_db
def test_invitation_accepted_with_a_new_account(org_a, people, invite):
    token = invite(client_for(org_a, people[OrgRole.ADMIN]), role="admin")
    stored = Invitation.objects.get(email="sam@example.test")
    assert stored.token_digest == hashlib.sha256(token.encode()).hexdigest()  # only a digest is stored
    assert token not in {str(value) for value in Invitation.objects.filter(pk=stored.pk).values().get().values()}
    newcomer = Client(HTTP_HOST="alpha.localhost")

    response = newcomer.post(
        "/api/v1/invitations/accept/",
        {"token": token, "password": PASSWORD, "full_name": "Sam Newcomer"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"organization": "Alpha Corp", "role": "admin", "url": "http://alpha.localhost/"}
    user = User.objects.get(email="sam@example.test")
    assert user.emailaddress_set.get().verified
    assert Membership.objects.get(organization=org_a, user=user).role == "admin"
    with schema_context(org_a.schema_name):
        assert Member.objects.get(user_id=user.pk).display_name == "Sam Newcomer"
    assert newcomer.get("/api/v1/members/").status_code == 200  # logged in

    again = newcomer.post("/api/v1/invitations/accept/", {"token": token}, content_type="application/json")
    assert again.status_code == 400
    assert "already been used" in str(again.json())
    assert Membership.objects.filter(organization=org_a, user=user).count() == 1


@pytest.mark.django_db
def test_invitation_accepted_by_the_logged_in_invitee(org_a, org_b, people, invite):
    person = UserFactory(email="existing@example.test")
    membership_add(organization=org_b, user=person, role=OrgRole.MEMBER)
    token = invite(client_for(org_a, people[OrgRole.OWNER]), email="existing@example.test", role="guest")

    anonymous = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/invitations/accept/", {"token": token, "password": PASSWORD}, content_type="application/json"
    )
    assert anonymous.status_code == 400
    assert "log in" in str(anonymous.json())

    wrong = client_for(org_a, people[OrgRole.MEMBER]).post(
        "/api/v1/invitations/accept/", {"token": token}, content_type="application/json"
    )
    assert wrong.status_code == 400
    assert "existing@example.test" in str(wrong.json())

    right = client_for(org_a, person).post(
        "/api/v1/invitations/accept/", {"token": token}, content_type="application/json"
    )
    assert right.status_code == 200
    assert Membership.objects.get(organization=org_a, user=person).role == "guest"


@pytest.mark.django_db
def test_expired_withdrawn_tampered_and_foreign_links_are_refused(org_a, org_b, people, invite):
    admin = client_for(org_a, people[OrgRole.ADMIN])
    expired = invite(admin, email="late@example.test")
    Invitation.objects.filter(email="late@example.test").update(expires_at=timezone.now() - timedelta(seconds=1))
    withdrawn = invite(admin, email="gone@example.test")
    admin.delete(f"/api/v1/invitations/{Invitation.objects.get(email='gone@example.test').pk}/")
    valid = invite(admin, email="ok@example.test")
    users = User.objects.count()

    cases = [
        ("alpha.localhost", expired, "expired"),
        ("alpha.localhost", withdrawn, "withdrawn"),
        ("alpha.localhost", valid[:-3] + "xyz", "not valid"),
        ("bravo.localhost", valid, "not valid"),  # a link only works on its organisation
    ]
    for host, token, message in cases:
        response = Client(HTTP_HOST=host).post(
            "/api/v1/invitations/accept/", {"token": token, "password": PASSWORD}, content_type="application/json"
        )
        assert response.status_code == 400, (host, token)
        assert message in str(response.json())
    assert User.objects.count() == users


@pytest.mark.django_db
def test_reinviting_replaces_the_pending_link(org_a, people, invite):
    owner = client_for(org_a, people[OrgRole.OWNER])
    first = invite(owner, email="twice@example.test")
    second = invite(owner, email="twice@example.test")

    stale = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/invitations/accept/", {"token": first, "password": PASSWORD}, content_type="application/json"
    )
    assert stale.status_code == 400
    fresh = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/invitations/accept/", {"token": second, "password": PASSWORD}, content_type="application/json"
    )
    assert fresh.status_code == 200


@pytest.mark.django_db
def test_invitation_page_creates_the_account_and_joins(org_a, people, invite):
    token = invite(client_for(org_a, people[OrgRole.OWNER]), email="page@example.test")
    browser = Client(HTTP_HOST="alpha.localhost")

    page = browser.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert "page@example.test" in page.text

    weak = browser.post(f"/invitations/{token}/", {"password": "123", "full_name": "Page"})
    assert weak.status_code == 400
    assert not User.objects.filter(email="page@example.test").exists()

    response = browser.post(f"/invitations/{token}/", {"password": PASSWORD, "full_name": "Page"})
    assert response.status_code == 302
    assert browser.get("/").status_code == 200
    assert browser.get(f"/invitations/{token}/").status_code == 400  # used up


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/invitations/accept/"])
def test_accepting_takes_json_only(org_a, people, invite, path):
    token = invite(client_for(org_a, people[OrgRole.OWNER]), email="form@example.test")
    response = Client(HTTP_HOST="alpha.localhost").post(path, {"token": token, "password": PASSWORD})
    assert response.status_code == 415
    assert not User.objects.filter(email="form@example.test").exists()


@pytest.mark.django_db
def test_a_removed_member_invited_again_starts_without_project_roles(org_a, people, invite):
    from tenant_apps.projects.models import ProjectMember, Role
    from tenant_apps.projects.services import project_create, project_member_set

    person = people[OrgRole.MEMBER]
    with schema_context(org_a.schema_name):
        owner_member = Member.objects.get(email="owner@alpha.test")
        project = project_create(key="OPS", name="Ops", actor=owner_member)
        project_member_set(
            project=project, member=Member.objects.get(user_id=person.pk), role=Role.objects.get(name="Project Manager")
        )
    owner = client_for(org_a, people[OrgRole.OWNER])
    assert owner.delete(f"/api/v1/members/{_member_id(org_a, person)}/").status_code == 204

    token = invite(owner, email=person.email)
    assert (
        client_for(org_a, person)
        .post("/api/v1/invitations/accept/", {"token": token}, content_type="application/json")
        .status_code
        == 200
    )
    with schema_context(org_a.schema_name):
        assert not ProjectMember.objects.filter(member__user_id=person.pk).exists()
    assert client_for(org_a, person).get("/api/v1/projects/OPS/members/").status_code == 200  # sees, as a member
    assert (
        client_for(org_a, person)
        .delete(f"/api/v1/projects/OPS/members/{_member_id(org_a, people[OrgRole.OWNER])}/")
        .status_code
        == 403
    )


def test_one_invitation_accepted_twice_at_once_makes_one_membership(committed):
    org_a = Organization.objects.get(slug="alpha")
    owner = Membership.objects.get(organization=org_a, role=OrgRole.OWNER)
    _invitation, token = invitation_create(organization=org_a, email="racer@example.test", role="member", actor=owner)

    responses = run_together(
        2,
        lambda i: Client(HTTP_HOST="alpha.localhost").post(
            "/api/v1/invitations/accept/", {"token": token, "password": PASSWORD}, content_type="application/json"
        ),
    )

    assert sorted(response.status_code for response in responses) == [200, 400], [r.content for r in responses]
    assert Membership.objects.filter(organization=org_a, user__email="racer@example.test").count() == 1
    assert User.objects.filter(email="racer@example.test").count() == 1


def test_two_owners_demoting_each_other_at_once_leave_one_owner(committed):
    org_a = Organization.objects.get(slug="alpha")
    second = UserFactory()
    membership_add(organization=org_a, user=second, role=OrgRole.OWNER)
    owners = list(Membership.objects.filter(organization=org_a, role=OrgRole.OWNER).order_by("pk"))
    assert len(owners) == 2

    def demote_the_other(index: int):
        return membership_role_change(membership=owners[1 - index], role=OrgRole.ADMIN, actor=owners[index])

    results = run_together(2, demote_the_other)

    assert Membership.objects.filter(organization=org_a, role=OrgRole.OWNER).count() == 1, results
    assert sum(isinstance(result, Exception) for result in results) == 1
    for membership in owners:  # restore for the next tests
        Membership.objects.filter(pk=membership.pk).update(role=OrgRole.OWNER)
        with schema_context(org_a.schema_name):
            Member.objects.filter(user_id=membership.user_id).update(role=OrgRole.OWNER)


class _SmtpDown:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")


@pytest.mark.django_db
def test_an_invitation_whose_email_cannot_be_sent_still_answers_201_and_stays_pending(
    org_a, people, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.tenant_apps.members.test_api._SmtpDown"
    client = client_for(org_a, people[OrgRole.OWNER])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/invitations/", {"email": "lost@example.test", "role": "member"}, content_type="application/json"
        )
    assert response.status_code == 201, response.content
    pending = client.get("/api/v1/invitations/").json()["results"]
    assert [item["email"] for item in pending] == ["lost@example.test"]
