"""Security keys (WebAuthn, allauth.mfa): the relying-party id is the root domain on the
root and every organisation domain, so one key works on all of them; a key counts as
two-factor authentication for an organisation that requires it."""

import pytest
from allauth.core import context
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.webauthn.internal.auth import get_server
from django.test import Client, RequestFactory, override_settings
from fido2.rpid import verify_rp_id

from shared_apps.accounts.adapter import webauthn_rp_id
from shared_apps.tenants.models import Organization
from tests.conftest import client_for
from tests.shared_apps.accounts.test_two_factor import PASSWORD, _person, _require


@override_settings(BASE_DOMAIN="example.com")
@pytest.mark.parametrize(
    ("host", "rp_id"),
    [
        ("example.com", "example.com"),
        ("acme.example.com", "example.com"),
        ("ACME.Example.com", "example.com"),
        ("beta.example.com", "example.com"),
        # Not ours: allauth's default, the host itself (never a suffix it does not end in).
        ("notexample.com", "notexample.com"),
        ("example.com.evil.org", "example.com.evil.org"),
    ],
)
def test_the_relying_party_is_the_root_domain_on_every_organisation_domain(host, rp_id):
    assert webauthn_rp_id(host) == rp_id


@override_settings(BASE_DOMAIN="localhost")
def test_on_localhost_a_key_is_bound_to_its_host():
    # Browsers refuse the one-label `localhost` as the RP id of acme.localhost.
    assert webauthn_rp_id("localhost") == "localhost"
    assert webauthn_rp_id("acme.localhost") == "acme.localhost"


@override_settings(BASE_DOMAIN="example.com", ALLOWED_HOSTS=[".example.com", "example.com"])
@pytest.mark.parametrize("host", ["acme.example.com:8443", "example.com"])
def test_allauths_fido2_server_accepts_the_root_and_every_organisation_origin(host):
    request = RequestFactory().get("/accounts/2fa/webauthn/add/", HTTP_HOST=host)
    with context.request_context(request):
        server = get_server()
    assert server.rp.id == "example.com"
    assert server.rp.name == "Tessera"
    # What fido2 checks the browser's origin against (the key was maybe added elsewhere).
    for origin in ("https://example.com", "https://acme.example.com", "https://beta.example.com"):
        assert verify_rp_id(server.rp.id, origin)
    assert not verify_rp_id(server.rp.id, "https://example.org")


@pytest.mark.django_db
def test_a_security_key_counts_as_two_factor_for_an_organisation_that_requires_it(org_a):
    _require(org_a)
    user = _person(org_a)
    client = client_for(org_a, user)
    assert client.get("/projects/").status_code == 302

    Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={"name": "Master key"})
    assert client.get("/projects/").status_code == 200
    assert Organization.objects.get(pk=org_a.pk).require_two_factor


# Not JSON, not an object, fields missing (fido2 raises KeyError: allauth alone answers
# 500, shared_apps/accounts/webauthn.py makes it the form's error), garbage in the fields.
BAD_CREDENTIALS = [
    "not json",
    "[]",
    "{}",
    '{"id": "x", "type": "public-key", "response": {}}',
    '{"id": "eA", "rawId": "eA", "type": "public-key", "response": {"clientDataJSON": "%%%",'
    ' "attestationObject": "eA", "authenticatorData": "eA", "signature": "eA"}}',
]


@pytest.mark.django_db
@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
def test_a_bad_credential_adds_no_key(org_a, credential):
    user = _person(org_a)
    client = client_for(org_a, user)
    # allauth asks for the password again before changing how one logs in.
    assert client.get("/accounts/2fa/webauthn/add/")["Location"].startswith("/accounts/reauthenticate/")
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    form = client.get("/accounts/2fa/webauthn/add/")
    assert form.status_code == 200
    assert b"mfa/js/webauthn.js" in form.content

    added = client.post("/accounts/2fa/webauthn/add/", {"name": "Blue key", "credential": credential})
    assert added.status_code == 200
    assert added.context["form"].errors
    assert not Authenticator.objects.filter(user=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
def test_a_bad_credential_at_the_login_does_not_log_in(org_a, credential):
    user = _person(org_a)
    TOTP.activate(user, generate_totp_secret())
    client = Client(HTTP_HOST=f"{org_a.slug}.localhost")
    assert client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    prompt = client.get("/accounts/2fa/authenticate/")
    assert prompt.status_code == 200
    assert b"mfa_webauthn_authenticate" in prompt.content  # "Use a security key"

    answer = client.post("/accounts/2fa/authenticate/", {"credential": credential})
    assert answer.status_code == 200
    assert "_auth_user_id" not in client.session
