"""Account journeys in the browser against the real server: an API token created, used
by a session-less client, revoked and refused; two-factor authentication set up with
codes computed from the shown secret, then asked for at the next login; an owner
requiring it and a member without it led to set it up (in Russian); a security key added
with Chrome's virtual authenticator, then used as the second factor at the next login."""

import os
import re
import sys
import time

import httpx
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from playwright.sync_api import expect

from shared_apps.accounts.models import ApiToken
from shared_apps.audit.models import AuditEntry
from shared_apps.tenants.models import Domain, Organization
from tests.browser.conftest import (
    ACTION_TIMEOUT_MS,
    BROWSER_CONTROL_EXCHANGE,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    ROOT,
    Process,
    _free_port,
    _http_answers,
    _test_database_url,
    _wait_until,
    assert_accessible,
    screenshot_both_themes,
)


def _code(secret: str, step: int = 0) -> str:
    """The authenticator app's code now (`step` 1: the next one, which the server accepts
    too: MFA_TOTP_TOLERANCE, and it is not the code just used)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step))


def _api(tessera, workspace, key: str | None) -> httpx.Response:
    """A curl-like request: no cookies, the token in the Authorization header (to the
    server's address with the organisation's Host, as curl --resolve would)."""
    headers = {"Host": f"{workspace.slug}.localhost:{tessera.port}"}
    if key:
        headers["Authorization"] = f"Token {key}"
    return httpx.get(f"http://127.0.0.1:{tessera.port}/api/v1/organization/", headers=headers, timeout=10)


def test_an_api_token_is_created_used_revoked_and_refused(as_user, tessera, workspace):
    page = as_user(workspace.member)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=workspace.url(""))
    page.goto(workspace.url("/"))
    page.get_by_label("Your account").click()
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    screenshot_both_themes(page, "account", save=False)

    page.get_by_role("navigation", name="Account pages").get_by_role("link", name="API tokens").click()
    page.get_by_role("button", name="Create token").click()  # no name: refused inline
    expect(page.get_by_role("alert")).to_be_visible()
    assert not ApiToken.objects.filter(user=workspace.member).exists()

    page.get_by_label("Name").fill("CI deploy")
    page.get_by_label("Expires").select_option("90")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    key = page.get_by_label("The new token").input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot_both_themes(page, "account-tokens")

    assert _api(tessera, workspace, None).status_code == 401
    used = _api(tessera, workspace, key)
    assert used.status_code == 200, used.text
    assert used.json()["role"] == "member"

    page.goto(workspace.url("/account/tokens/"))  # the key is not shown again; the row shows its use
    expect(page.get_by_label("The new token")).to_have_count(0)
    row = page.get_by_role("row", name="CI deploy")
    expect(row).not_to_contain_text("Never used")
    row.get_by_role("button", name="Revoke CI deploy").click()
    expect(page.get_by_text("“CI deploy” is revoked")).to_be_visible()

    refused = _api(tessera, workspace, key)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    token = ApiToken.objects.get(user=workspace.member)
    assert token.revoked_at is not None
    assert token.last_used_at is not None
    actions = set(AuditEntry.objects.filter(actor_user_id=workspace.member.pk).values_list("action", flat=True))
    assert {"api_token.created", "api_token.revoked"} <= actions


def test_a_member_sets_up_two_factor_and_the_next_login_asks_for_a_code(as_user, workspace):
    page = as_user(workspace.member)
    page.goto(workspace.url("/account/"))
    page.get_by_role("navigation", name="Account pages").get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Activate").click()
    # allauth asks for the password again before changing how one logs in.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    secret = page.get_by_label("Authenticator secret").input_value()
    assert_accessible(page, what="authenticator app set-up")
    page.get_by_label("Authenticator code").fill("000000")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Incorrect code")).to_be_visible()
    page.get_by_label("Authenticator code").fill(_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    kinds = set(Authenticator.objects.filter(user=workspace.member).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}

    page.goto(workspace.url("/"))
    page.get_by_label("Your account").click()
    page.get_by_role("button", name="Log out").click()
    page.goto(workspace.url("/accounts/login/"))
    page.get_by_label("Email").fill(workspace.member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    # The password alone does not let them in: every page leads back to the code.
    expect(page).to_have_url(workspace.url("/accounts/2fa/authenticate/"))
    page.goto(workspace.url("/projects/"))
    expect(page).to_have_url(workspace.url("/accounts/2fa/authenticate/"))
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text("Incorrect code")).to_be_visible()
    assert_accessible(page, what="login code")
    page.get_by_label("Code").fill(_code(secret, 1))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto(workspace.url("/projects/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")


def test_an_owner_requires_two_factor_and_a_member_is_led_to_set_it_up(as_user, new_context, workspace):
    TOTP.activate(workspace.owner, generate_totp_secret())
    owner_page = as_user(workspace.owner)
    owner_page.goto(workspace.url("/"))
    owner_page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    expect(owner_page.get_by_role("listitem").filter(has_text=workspace.member.email)).to_be_visible()
    screenshot_both_themes(owner_page, "settings-security", save=False)
    owner_page.get_by_label("Require two-factor authentication of every member").check()
    owner_page.get_by_role("button", name="Save").click()
    expect(owner_page.get_by_text("The security settings are saved.")).to_be_visible()
    assert Organization.objects.get(pk=workspace.organization.pk).require_two_factor
    with workspace.schema():
        assert AuditEntry.objects.filter(
            action="organization.two_factor_changed", actor_user_id=workspace.owner.pk
        ).exists()

    # The member, whose browser asks for Russian, cannot go on without setting it up.
    page = new_context(workspace.member, slugs=(workspace.slug,), locale="ru-RU").new_page()
    page.goto(workspace.url("/projects/"))
    expect(page.get_by_text("Эта организация требует двухфакторную аутентификацию")).to_be_visible()
    # Led to the page that offers both ways: an authenticator app and a security key.
    expect(page).to_have_url(workspace.url("/accounts/2fa/"))
    expect(page.get_by_text("приложение-аутентификатор или добавьте ключ безопасности")).to_be_visible()
    expect(page.get_by_role("link", name="Добавить", exact=True)).to_be_visible()
    assert_accessible(page, what="two-factor required (ru)")
    page.get_by_role("link", name="Активировать").click()
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Подтвердить").click()
    expect(page).to_have_url(workspace.url("/accounts/2fa/totp/activate/"))
    # allauth's Russian catalogue calls the secret and the code field alike
    # ("Код аутентификатора"): the secret is the disabled one.
    secret = page.get_by_role("textbox", name="Код аутентификатора", disabled=True).input_value()
    page.locator("input[name='code']").fill(_code(secret))
    page.get_by_role("button", name="Активировать").click()
    expect(page.get_by_role("heading", name="Коды восстановления")).to_be_visible()

    page.goto(workspace.url("/projects/"))
    expect(page).to_have_url(workspace.url("/projects/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Проекты")


def test_a_member_adds_a_security_key_and_logs_in_with_it(as_user, workspace):
    page = as_user(workspace.member)
    # Chrome's virtual authenticator (DevTools protocol), a USB key with a PIN.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    page.goto(workspace.url("/accounts/2fa/"))
    page.get_by_role("link", name="Add", exact=True).click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(workspace.url("/accounts/2fa/webauthn/add/"))
    assert_accessible(page, what="add a security key")
    page.get_by_label("Name").fill("Blue key")
    page.get_by_role("button", name="Add", exact=True).click()
    # The first authenticator: allauth shows the recovery codes it has just made.
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    key = Authenticator.objects.get(user=workspace.member, type=Authenticator.Type.WEBAUTHN)
    assert key.data["name"] == "Blue key"
    # On `localhost` the key is bound to the organisation's host (browsers refuse the
    # one-label root as its RP id; with a real domain it is the root: test_webauthn.py).
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["rpId"] == f"{workspace.slug}.localhost"

    page.goto(workspace.url("/"))
    page.get_by_label("Your account").click()
    page.get_by_role("button", name="Log out").click()
    page.goto(workspace.url("/accounts/login/"))
    page.get_by_label("Email").fill(workspace.member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(workspace.url("/accounts/2fa/authenticate/"))
    page.goto(workspace.url("/projects/"))
    expect(page).to_have_url(workspace.url("/accounts/2fa/authenticate/"))
    assert_accessible(page, what="login code or security key")
    page.get_by_role("button", name="Use a security key").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto(workspace.url("/projects/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    # The key signed in: its counter moved on the authenticator.
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["signCount"] >= 2


# --- a security key across domains --------------------------------------------------------

REAL_DOMAIN = "tessera.test"


@pytest.fixture
def tessera_on_a_real_domain(tessera, tmp_path, django_db_blocker):
    """A second gunicorn on the same database, serving BASE_DOMAIN `tessera.test`: Chrome
    refuses the one-label `localhost` as a security key's RP id on `acme.localhost`, so a
    key shared by the root and an organisation's domain needs a registrable domain."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.browser.server_settings",
        "DATABASE_URL": _test_database_url(),
        "TESSERA_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TESSERA_BROWSER_MAIL_DIR": str(tmp_path),
        "TESSERA_SITE_PORT": str(port),
        "TESSERA_BASE_DOMAIN": REAL_DOMAIN,
        "PYTEST_XDIST_WORKER": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "GUNICORN_WORKERS": "2",
        "TESSERA_BROWSER_QUEUE": f"{settings.CELERY_TASK_DEFAULT_QUEUE}-browser",
        "TESSERA_BROWSER_CONTROL_EXCHANGE": BROWSER_CONTROL_EXCHANGE,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application",
               "--config", str(ROOT / "platform" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"]  # fmt: skip
    server = Process("gunicorn-real-domain", command, env, tmp_path)
    try:
        _wait_until(lambda: _http_answers(port), seconds=180, what="gunicorn (tessera.test)", process=server)
        yield port
    finally:
        server.stop()


def test_a_security_key_added_on_the_root_domain_is_the_second_factor_on_an_organisations(
    playwright, tessera_on_a_real_domain, workspace
):
    port = tessera_on_a_real_domain
    org_host = f"{workspace.slug}.{REAL_DOMAIN}"
    Domain.objects.create(tenant=workspace.organization, domain=org_host, is_primary=False)
    root, org = f"http://{REAL_DOMAIN}:{port}", f"http://{org_host}:{port}"
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            *(["--no-sandbox"] if os.geteuid() == 0 else []),
            f"--host-resolver-rules=MAP *.{REAL_DOMAIN} 127.0.0.1,MAP {REAL_DOMAIN} 127.0.0.1",
            # WebAuthn needs a secure context: these two plain-http origins count as one.
            f"--unsafely-treat-insecure-origin-as-secure={root},{org}",
        ],
    )
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        options = {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
                   "hasUserVerification": True, "isUserVerified": True}  # fmt: skip
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]

        # On the root domain: log in with the password, add the key.
        page.goto(f"{root}/accounts/login/")
        page.get_by_label("Email").fill(workspace.member.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        page.goto(f"{root}/accounts/2fa/webauthn/add/")
        if "/accounts/reauthenticate/" in page.url:  # allauth asks again once the login is old (busy CI)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(f"{root}/accounts/2fa/webauthn/add/")
        page.get_by_label("Name").fill("Root key")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
        (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert credential["rpId"] == REAL_DOMAIN  # bound to the root, not to the host it was added on
        assert Authenticator.objects.filter(user=workspace.member, type=Authenticator.Type.WEBAUTHN).count() == 1
        page.goto(f"{root}/accounts/logout/")
        page.get_by_role("button", name="Sign Out").click()

        # On the organisation's domain: the password, then the same key as the second factor.
        page.goto(f"{org}/accounts/login/")
        page.get_by_label("Email").fill(workspace.member.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        expect(page).to_have_url(f"{org}/accounts/2fa/authenticate/")
        page.get_by_role("button", name="Use a security key").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        page.goto(f"{org}/projects/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
        (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert credential["signCount"] >= 2
        with workspace.schema():
            assert AuditEntry.objects.filter(action="authenticator.added", actor_user_id=workspace.member.pk).exists()
    finally:
        browser.close()
