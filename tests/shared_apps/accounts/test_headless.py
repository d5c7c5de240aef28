"""JSON log-in through allauth's headless API, and the scripted path from sign-up to a
first API token exactly as docs/api.md shows it (issue 11, item 10)."""

import json
import re

import pytest
from django.core import mail
from django.test import Client

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Organization

JSON = "application/json"
APP = "/_allauth/app/v1"
BROWSER = "/_allauth/browser/v1"
PASSWORD = "correct horse battery staple"


def _signup(client: Client, email: str, slug: str):
    return client.post(
        "/api/v1/signup/",
        {"email": email, "password": PASSWORD, "organization_name": slug.title(), "slug": slug},
        content_type=JSON,
    )


def _emailed_key(email: str) -> str:
    message = next(message for message in reversed(mail.outbox) if message.to == [email])
    return re.search(r"/accounts/confirm-email/([^/\s]+)/", message.body).group(1)


@pytest.mark.django_db
def test_scripted_path_from_signup_to_a_first_token():
    """docs/api.md, "From sign-up to a first token", step by step."""
    root = Client(HTTP_HOST="localhost")

    # 1. Sign up (creates the account and the organisation, emails a confirmation link).
    assert _signup(root, "ada@acme.test", "acme").status_code == 201
    key = _emailed_key("ada@acme.test")

    # 2. Confirm the email with the key from the link.
    verified = root.post(f"{APP}/auth/email/verify", {"key": key}, content_type=JSON)
    assert verified.status_code == 401  # verified, not logged in yet: log in next
    assert User.objects.get(email="ada@acme.test").emailaddress_set.get().verified

    # 3. Log in: the answer carries a session token.
    login = root.post(f"{APP}/auth/login", {"email": "ada@acme.test", "password": PASSWORD}, content_type=JSON)
    assert login.status_code == 200, login.content
    session_token = login.json()["meta"]["session_token"]

    # 4. The session is live.
    session = root.get(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=session_token)
    assert session.status_code == 200
    assert session.json()["data"]["user"]["email"] == "ada@acme.test"

    # 5. Mint an API token with the session.
    created = root.post("/api/v1/tokens/", {"name": "deploy"}, content_type=JSON, HTTP_X_SESSION_TOKEN=session_token)
    assert created.status_code == 201, created.content
    api_key = created.json()["key"]

    # 6. Use it on the organisation's API.
    acme = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Token {api_key}")
    organization = acme.get("/api/v1/organization/")
    assert organization.status_code == 200
    assert organization.json()["slug"] == "acme"

    # Tokens still cannot mint tokens.
    refused = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {api_key}").post(
        "/api/v1/tokens/", {"name": "more"}, content_type=JSON
    )
    assert refused.status_code == 403

    # 7. Log out: the session token stops working.
    assert root.delete(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=session_token).status_code == 401
    assert (
        root.post(
            "/api/v1/tokens/", {"name": "late"}, content_type=JSON, HTTP_X_SESSION_TOKEN=session_token
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_the_html_confirmation_link_logs_the_new_person_in_from_any_browser():
    assert _signup(Client(HTTP_HOST="localhost"), "bea@beta.test", "beta").status_code == 201
    key = _emailed_key("bea@beta.test")
    other_browser = Client(HTTP_HOST="localhost")

    assert other_browser.get(f"/accounts/confirm-email/{key}/").status_code == 200
    response = other_browser.post(f"/accounts/confirm-email/{key}/")

    assert response.status_code == 302
    assert response["Location"] == "http://beta.localhost/"
    user = User.objects.get(email="bea@beta.test")
    assert other_browser.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_a_confirmation_link_used_again_logs_nobody_in():
    assert _signup(Client(HTTP_HOST="localhost"), "cy@gamma.test", "gamma").status_code == 201
    key = _emailed_key("cy@gamma.test")
    Client(HTTP_HOST="localhost").post(f"/accounts/confirm-email/{key}/")

    later = Client(HTTP_HOST="localhost")
    response = later.post(f"/accounts/confirm-email/{key}/")

    assert "_auth_user_id" not in later.session
    assert response.status_code == 404  # allauth: the link was used


@pytest.mark.django_db
def test_an_unconfirmed_account_cannot_log_in_with_json():
    root = Client(HTTP_HOST="localhost")
    assert _signup(root, "dee@delta.test", "delta").status_code == 201

    login = Client(HTTP_HOST="localhost").post(
        f"{APP}/auth/login", {"email": "dee@delta.test", "password": PASSWORD}, content_type=JSON
    )

    assert login.status_code == 401
    assert [flow["id"] for flow in login.json()["data"]["flows"] if flow.get("is_pending")] == ["verify_email"]


@pytest.mark.django_db
def test_json_login_works_on_an_organisation_domain_too(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    owner.emailaddress_set.create(email=owner.email, primary=True, verified=True)
    client = Client(HTTP_HOST="alpha.localhost")

    login = client.post(f"{APP}/auth/login", {"email": "owner@alpha.test", "password": "pw"}, content_type=JSON)

    assert login.status_code == 200, login.content
    token = login.json()["meta"]["session_token"]
    assert client.get(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=token).json()["data"]["user"]["id"] == owner.pk


@pytest.mark.django_db
def test_the_browser_client_uses_the_session_cookie_and_csrf(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    owner.emailaddress_set.create(email=owner.email, primary=True, verified=True)
    browser = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)

    refused = browser.post(f"{BROWSER}/auth/login", {"email": owner.email, "password": "pw"}, content_type=JSON)
    assert refused.status_code == 403  # no CSRF token
    browser.get(f"{BROWSER}/config")
    csrf = browser.cookies["csrftoken"].value
    login = browser.post(
        f"{BROWSER}/auth/login", {"email": owner.email, "password": "pw"}, content_type=JSON, HTTP_X_CSRFTOKEN=csrf
    )

    assert login.status_code == 200, login.content
    assert browser.get("/api/v1/organizations/").json()["count"] == 1


@pytest.mark.django_db
def test_json_signup_is_refused_headless_sign_up_goes_through_the_api():
    before = User.objects.count()

    response = Client(HTTP_HOST="localhost").post(
        f"{APP}/auth/signup", {"email": "eve@example.test", "password": PASSWORD}, content_type=JSON
    )

    assert response.status_code == 403
    assert User.objects.count() == before
    assert not Organization.objects.filter(slug="eve").exists()


@pytest.mark.django_db
def test_failed_json_logins_are_rate_limited_like_the_form(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    owner.emailaddress_set.create(email=owner.email, primary=True, verified=True)
    client = Client(HTTP_HOST="localhost")

    answers = [
        client.post(f"{APP}/auth/login", {"email": owner.email, "password": "wrong"}, content_type=JSON)
        for _ in range(6)
    ]

    codes = [[error["code"] for error in answer.json()["errors"]] for answer in answers]
    assert codes == [["email_password_mismatch"]] * 5 + [["too_many_login_attempts"]]
    # The right password is refused too while the limit holds (per account: 5 per 5 min).
    right = client.post(f"{APP}/auth/login", {"email": owner.email, "password": "pw"}, content_type=JSON)
    assert [error["code"] for error in right.json()["errors"]] == ["too_many_login_attempts"]


@pytest.mark.django_db
def test_password_reset_through_json(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    owner.emailaddress_set.create(email=owner.email, primary=True, verified=True)
    client = Client(HTTP_HOST="localhost")

    requested = client.post(f"{APP}/auth/password/request", {"email": owner.email}, content_type=JSON)
    assert requested.status_code == 200
    link = re.search(r"/accounts/password/reset/key/([^/\s]+)/", mail.outbox[-1].body).group(1)
    reset = client.post(
        f"{APP}/auth/password/reset", {"key": link, "password": "a much better passphrase"}, content_type=JSON
    )

    assert reset.status_code in (200, 401), reset.content
    owner.refresh_from_db()
    assert owner.check_password("a much better passphrase")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [f"{APP}/auth/login", f"{APP}/auth/email/verify", f"{APP}/auth/password/request"])
def test_hostile_json_on_headless_endpoints_is_a_4xx(path):
    deep = '{"email": ' + "[" * 5000 + "]" * 5000 + "}"
    client = Client(HTTP_HOST="localhost")

    for body in (deep, "not json", json.dumps({"email": "a\x00@b.test", "key": "\x00", "password": "x"})):
        assert 400 <= client.post(path, body, content_type=JSON).status_code < 500
