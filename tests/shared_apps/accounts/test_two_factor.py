"""Two-factor authentication (allauth.mfa): the login asks for a code (HTML and headless),
and an organisation that requires it leads members without it to set it up (pages),
refuses their API session and token requests (403 two_factor_required)."""

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client

from shared_apps.accounts.tokens import api_token_create
from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tests.conftest import client_for
from tests.factories import UserFactory

JSON = "application/json"
PASSWORD = "pw"


def _code(secret: str, step: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step))


def _person(organization=None, role=OrgRole.MEMBER):
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    if organization is not None:
        membership_add(organization=organization, user=user, role=role)
    return user


def _require(organization) -> None:
    Organization.objects.filter(pk=organization.pk).update(require_two_factor=True)
    organization.refresh_from_db()
    organization.save(update_fields=["require_two_factor"])  # drops the cached host lookup


@pytest.mark.django_db
def test_login_asks_for_the_code_once_two_factor_is_on(org_a):
    user = _person(org_a)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = Client(HTTP_HOST=f"{org_a.slug}.localhost")

    login = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/").status_code == 302  # not logged in yet

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session
    right = client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert right.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


@pytest.mark.django_db
def test_headless_login_has_a_pending_mfa_flow_and_takes_the_code(org_a):
    user = _person(org_a)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = Client(HTTP_HOST="localhost")

    login = client.post("/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, content_type=JSON)
    assert login.status_code == 401
    body = login.json()
    assert {"id": "mfa_authenticate", "is_pending": True}.items() <= next(
        flow for flow in body["data"]["flows"] if flow["id"] == "mfa_authenticate"
    ).items()
    session_token = body["meta"]["session_token"]

    wrong = client.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": "000000"},
        content_type=JSON,
        HTTP_X_SESSION_TOKEN=session_token,
    )
    assert wrong.status_code == 400
    done = client.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": _code(secret)},
        content_type=JSON,
        HTTP_X_SESSION_TOKEN=session_token,
    )
    assert done.status_code == 200, done.content
    assert done.json()["data"]["user"]["email"] == user.email


@pytest.mark.django_db
def test_required_two_factor_leads_members_to_set_it_up(org_a):
    _require(org_a)
    user = _person(org_a)
    client = client_for(org_a, user)

    page = client.get("/projects/")
    assert page.status_code == 302
    assert page["Location"] == "/accounts/2fa/"
    htmx = client.get("/projects/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/accounts/2fa/"
    # The page it leads to offers both ways, and the message names both.
    offered = client.get("/accounts/2fa/")
    assert offered.status_code == 200
    assert "/accounts/2fa/totp/activate/" in offered.text
    assert "/accounts/2fa/webauthn/add/" in offered.text
    assert "an authenticator app or add a security key" in offered.text
    # Setting it up, the account pages and logging out stay open.
    # (force_login leaves no record of a recent password, so allauth asks for it first.)
    activate = client.get("/accounts/2fa/totp/activate/")
    assert activate["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(activate["Location"]).status_code == 200
    assert client.get("/account/").status_code == 200

    TOTP.activate(user, generate_totp_secret())
    assert client.get("/projects/").status_code == 200


@pytest.mark.django_db
def test_required_two_factor_refuses_api_sessions_and_tokens_clearly(org_a, org_b):
    _require(org_a)
    user = _person(org_a)
    membership_add(organization=org_b, user=user, role=OrgRole.MEMBER)
    _token, key = api_token_create(user=user, name="script")

    session = client_for(org_a, user).get("/api/v1/organization/")
    token = Client(HTTP_HOST=f"{org_a.slug}.localhost").get("/api/v1/organization/", HTTP_AUTHORIZATION=f"Token {key}")

    for response in (session, token):
        assert response.status_code == 403
        assert response.json()["code"] == "two_factor_required"
    # Another organisation that does not require it: unaffected.
    other = Client(HTTP_HOST=f"{org_b.slug}.localhost").get("/api/v1/organization/", HTTP_AUTHORIZATION=f"Token {key}")
    assert other.status_code == 200

    TOTP.activate(user, generate_totp_secret())
    again = Client(HTTP_HOST=f"{org_a.slug}.localhost").get("/api/v1/organization/", HTTP_AUTHORIZATION=f"Token {key}")
    assert again.status_code == 200


@pytest.mark.django_db
def test_required_two_factor_leaves_non_members_to_the_usual_refusal(org_a, org_b):
    _require(org_a)
    outsider = _person(org_b)

    response = client_for(org_a, outsider).get("/api/v1/organization/")

    assert response.status_code == 403
    assert response.json().get("code") != "two_factor_required"
