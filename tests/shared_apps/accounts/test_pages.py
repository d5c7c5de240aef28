"""The account pages (root and organisation domains): profile, API tokens, notification
preferences, and the owners' security settings; happy path, bad input, wrong role, other
tenant, query counts."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import ApiToken
from shared_apps.accounts.tokens import api_token_create
from shared_apps.audit.models import AuditEntry
from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Preference, ProjectMute
from tenant_apps.projects.services import project_create
from tests.conftest import client_for
from tests.factories import UserFactory


def _member(organization, role=OrgRole.MEMBER, **fields):
    user = UserFactory(**fields)
    membership_add(organization=organization, user=user, role=role)
    return user


def _two_factor_on(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


# --- Profile ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_account_page_in_the_shell_on_an_organisation_and_plain_on_the_root(org_a, org_b):
    user = _member(org_a)
    membership_add(organization=org_b, user=user, role=OrgRole.ADMIN)

    in_org = client_for(org_a, user).get("/account/")
    on_root = client_for(None, user).get("/account/")

    assert in_org.status_code == 200
    assert 'class="sidenav"' in in_org.text
    assert "/account/notifications/" in in_org.text
    assert on_root.status_code == 200
    assert 'class="sidenav"' not in on_root.text
    assert "/account/notifications/" not in on_root.text
    for page in (in_org, on_root):
        assert org_a.name in page.text
        assert org_b.name in page.text


@pytest.mark.django_db
def test_account_pages_need_a_login(org_a):
    for path in ("/account/", "/account/tokens/", "/account/notifications/", "/settings/security/"):
        response = client_for(org_a).get(path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_profile_saves_the_name_everywhere_and_the_language(org_a, org_b):
    user = _member(org_a)
    membership_add(organization=org_b, user=user, role=OrgRole.MEMBER)

    response = client_for(None, user).post("/account/", {"full_name": "  Ada   Lovelace ", "language": "ru"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.language) == ("Ada Lovelace", "ru")
    for organization in (org_a, org_b):
        with schema_context(organization.schema_name):
            assert Member.objects.get(user_id=user.pk).display_name == "Ada Lovelace"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"), [({"full_name": "x" * 151, "language": ""}, "full_name"), ({"language": "xx"}, "language")]
)
def test_profile_refuses_bad_input_inline_and_saves_nothing(org_a, data, field):
    user = _member(org_a, full_name="Before")

    response = client_for(org_a, user).post("/account/", data)

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    user.refresh_from_db()
    assert (user.full_name, user.language) == ("Before", "")


# --- API tokens ------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_page_shows_a_new_key_once_and_audits_it(org_a):
    user = _member(org_a)
    client = client_for(org_a, user)

    created = client.post("/account/tokens/", {"name": "deploy", "lifetime": "90"})

    assert created.status_code == 200
    token = ApiToken.objects.get(user=user)
    key = created.context["created"]["key"]
    assert key.startswith(token.prefix)
    assert key in created.text
    assert created["Cache-Control"] == "no-store"
    assert 'data-copy-from="new-token-key"' in created.text
    assert 89 <= (token.expires_at - token.created_at).days <= 90
    again = client.get("/account/tokens/")
    assert key not in again.text
    assert token.prefix in again.text
    with schema_context("public"):
        assert AuditEntry.objects.filter(action="api_token.created", actor_user_id=user.pk).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data", [{"name": "  ", "lifetime": "30"}, {"name": "x" * 101}, {"name": "ok", "lifetime": "7"}]
)
def test_token_page_refuses_bad_input_and_creates_nothing(data):
    user = UserFactory()

    response = client_for(None, user).post("/account/tokens/", data)

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_revoke_ends_the_token_and_someone_elses_is_not_found(org_a):
    user = _member(org_a)
    other = _member(org_a)
    mine, key = api_token_create(user=user, name="mine")
    theirs, _key = api_token_create(user=other, name="theirs")
    client = client_for(org_a, user)

    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.get(f"/account/tokens/{mine.pk}/revoke/").status_code == 405
    revoked = client.post(f"/account/tokens/{mine.pk}/revoke/")

    assert revoked.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
    refused = client_for(org_a).get("/api/v1/organization/", HTTP_AUTHORIZATION=f"Token {key}")
    assert refused.status_code == 401
    with schema_context("public"):
        # Only this person's (browser tests commit entries of their own to the same database).
        assert AuditEntry.objects.filter(action="api_token.revoked", actor_user_id=user.pk).count() == 1


@pytest.mark.django_db
def test_token_list_queries_stay_constant():
    user = UserFactory()
    client = client_for(None, user)
    api_token_create(user=user, name="one")
    client.get("/account/tokens/")
    with CaptureQueriesContext(connection) as first:
        client.get("/account/tokens/")
    for index in range(5):
        api_token_create(user=user, name=f"more {index}")
    with CaptureQueriesContext(connection) as second:
        response = client.get("/account/tokens/")
    assert response.text.count("Revoke</button>") == 6
    assert len(second) == len(first)


# --- Notification preferences ----------------------------------------------------------


@pytest.mark.django_db
def test_notification_preferences_save_kinds_and_muted_projects(org_a):
    owner = _member(org_a, OrgRole.OWNER)
    with schema_context(org_a.schema_name):
        owner_member = Member.objects.get(user_id=owner.pk)
        project = project_create(key="OPS", name="Operations", actor=owner_member)
    client = client_for(org_a, owner)
    page = client.get("/account/notifications/")
    assert page.status_code == 200
    assert "OPS" in page.text

    # Everything on except comment emails; OPS muted.
    from tenant_apps.notifications.models import EventKind

    data = {f"in_app:{kind.value}": "on" for kind in EventKind}
    data |= {f"email:{kind.value}": "on" for kind in EventKind if kind != EventKind.COMMENT_ADDED}
    data["muted"] = ["OPS"]
    saved = client.post("/account/notifications/", data)

    assert saved.status_code == 302
    with schema_context(org_a.schema_name):
        comment = Preference.objects.get(member=owner_member, kind=EventKind.COMMENT_ADDED)
        assert (comment.in_app, comment.email) == (True, False)
        assert list(ProjectMute.objects.filter(member=owner_member).values_list("project_id", flat=True)) == [
            project.pk
        ]


@pytest.mark.django_db
def test_notification_preferences_refuse_a_project_not_visible(org_a):
    owner = _member(org_a, OrgRole.OWNER)
    guest = _member(org_a, OrgRole.GUEST)
    with schema_context(org_a.schema_name):
        project_create(key="SEC", name="Secret", actor=Member.objects.get(user_id=owner.pk))

    response = client_for(org_a, guest).post("/account/notifications/", {"muted": ["SEC"]})

    assert response.status_code == 400
    assert "SEC" in response.text
    with schema_context(org_a.schema_name):
        assert not Preference.objects.exists()
        assert not ProjectMute.objects.exists()


@pytest.mark.django_db
def test_notification_preferences_of_another_organisation_are_refused(org_a, org_b):
    user = _member(org_b)

    assert client_for(org_a, user).get("/account/notifications/").status_code == 403
    assert client_for(org_a, user).post("/account/notifications/", {"muted": []}).status_code == 403


@pytest.mark.django_db
def test_notification_preferences_queries_stay_constant(org_a):
    owner = _member(org_a, OrgRole.OWNER)
    client = client_for(org_a, owner)
    with schema_context(org_a.schema_name):
        member = Member.objects.get(user_id=owner.pk)
        project_create(key="ONE", name="One", actor=member)
    client.get("/account/notifications/")
    with CaptureQueriesContext(connection) as first:
        client.get("/account/notifications/")
    with schema_context(org_a.schema_name):
        for index in range(4):
            project_create(key=f"P{index}X", name=f"Project {index}", actor=member)
    client.get("/account/notifications/")
    with CaptureQueriesContext(connection) as second:
        client.get("/account/notifications/")
    assert len(second) == len(first)


# --- Security settings (require two-factor authentication) -----------------------------


@pytest.mark.django_db
def test_owner_requires_two_factor_after_setting_it_up_and_it_is_audited(org_a):
    owner = _member(org_a, OrgRole.OWNER)
    client = client_for(org_a, owner)

    refused = client.post("/settings/security/", {"require_two_factor": "on"})
    assert refused.status_code == 400
    assert "for your own account first" in refused.text
    assert not Organization.objects.get(pk=org_a.pk).require_two_factor

    _two_factor_on(owner)
    saved = client.post("/settings/security/", {"require_two_factor": "on"})

    assert saved.status_code == 302
    assert Organization.objects.get(pk=org_a.pk).require_two_factor
    with schema_context(org_a.schema_name):
        entry = AuditEntry.objects.get(action="organization.two_factor_changed")
        assert (entry.actor_user_id, entry.after) == (owner.pk, {"require_two_factor": True})


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST])
def test_security_settings_are_for_owners_only(org_a, role):
    user = _member(org_a, role)
    _two_factor_on(user)
    client = client_for(org_a, user)

    assert client.get("/settings/security/").status_code == 403
    assert client.post("/settings/security/", {"require_two_factor": "on"}).status_code == 403
    assert not Organization.objects.get(pk=org_a.pk).require_two_factor
    assert "/settings/security/" not in client.get("/").text


@pytest.mark.django_db
def test_security_settings_of_another_organisation_are_not_found(org_a, org_b):
    owner_b = _member(org_b, OrgRole.OWNER)
    _two_factor_on(owner_b)

    response = client_for(org_a, owner_b).post("/settings/security/", {"require_two_factor": "on"})

    assert response.status_code == 404
    assert not Organization.objects.get(pk=org_a.pk).require_two_factor
    assert client_for(None, owner_b).get("/settings/security/").status_code == 404


@pytest.mark.django_db
def test_security_settings_list_members_without_two_factor_in_constant_queries(org_a):
    owner = _member(org_a, OrgRole.OWNER, email="owner@example.test")
    _two_factor_on(owner)
    _member(org_a, email="late@example.test")
    client = client_for(org_a, owner)
    client.get("/settings/security/")
    with CaptureQueriesContext(connection) as first:
        page = client.get("/settings/security/")
    assert "late@example.test" in page.text
    assert '<span class="muted small">owner@example.test</span>' not in page.text
    for _index in range(4):
        _member(org_a)
    client.get("/settings/security/")
    with CaptureQueriesContext(connection) as second:
        client.get("/settings/security/")
    assert len(second) == len(first)
