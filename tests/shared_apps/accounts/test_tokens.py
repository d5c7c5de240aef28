from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.accounts.models import ApiToken
from shared_apps.accounts.tokens import FAILURES_ALLOWED, api_token_create, api_token_revoke
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tests.conftest import client_for
from tests.factories import UserFactory

TOKENS = "/api/v1/tokens/"
ORG_API = "/api/v1/organization/"


def _with_token(organization, key: str) -> Client:
    host = f"{organization.slug}.localhost" if organization else "localhost"
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {key}")


@pytest.mark.django_db
def test_token_is_shown_once_and_stored_only_as_a_digest():
    user = UserFactory()
    client = client_for(None, user)

    created = client.post(TOKENS, {"name": "deploy"}, content_type="application/json")

    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("tsr_")
    assert len(key) > 40
    listed = client.get(TOKENS).json()["results"]
    assert [item["name"] for item in listed] == ["deploy"]
    assert "key" not in listed[0]
    assert key.startswith(listed[0]["prefix"])
    stored = ApiToken.objects.values().get()
    assert key not in {str(value) for value in stored.values()}
    assert stored["key_digest"] != key


@pytest.mark.django_db
def test_token_authenticates_a_member_and_records_last_use(org_a):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    token, key = api_token_create(user=user, name="script")

    response = _with_token(org_a, key).get(ORG_API)

    assert response.status_code == 200
    assert response.json()["role"] == "member"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_token_grants_nothing_in_another_organisation(org_a, org_b):
    user = UserFactory()
    membership_add(organization=org_b, user=user, role=OrgRole.OWNER)
    _token, key = api_token_create(user=user, name="script")

    assert _with_token(org_b, key).get(ORG_API).status_code == 200
    response = _with_token(org_a, key).get(ORG_API)
    assert response.status_code == 403
    assert "Alpha" not in response.text


@pytest.mark.django_db
def test_revoked_expired_and_unknown_tokens_are_refused(org_a):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    revoked, revoked_key = api_token_create(user=user, name="old")
    api_token_revoke(token=revoked)
    expired, expired_key = api_token_create(user=user, name="temp")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    for key, message in [
        (revoked_key, "revoked"),
        (expired_key, "expired"),
        (revoked_key[:-4] + "AAAA", "Invalid token"),
        ("tsr_nonsense", "Invalid token"),
    ]:
        response = _with_token(org_a, key).get(ORG_API)
        assert response.status_code == 401, key
        assert message in response.json()["detail"]


@pytest.mark.django_db
def test_a_deactivated_users_token_is_refused(org_a):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    _token, key = api_token_create(user=user, name="script")
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert _with_token(org_a, key).get(ORG_API).status_code == 401


@pytest.mark.django_db
def test_token_failures_are_rate_limited_per_address(org_a):
    client = _with_token(org_a, "tsr_guess")
    codes = [client.get(ORG_API).status_code for _ in range(FAILURES_ALLOWED + 1)]
    assert codes[:FAILURES_ALLOWED] == [401] * FAILURES_ALLOWED
    assert codes[-1] == 429

    # Even a valid token from that address waits out the window.
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    _token, key = api_token_create(user=user, name="script")
    assert _with_token(org_a, key).get(ORG_API).status_code == 429


@pytest.mark.django_db
def test_revoking_only_your_own_tokens():
    owner, other = UserFactory(), UserFactory()
    token, _key = api_token_create(user=owner, name="mine")

    assert client_for(None, other).delete(f"{TOKENS}{token.pk}/").status_code == 404
    assert client_for(None, other).get(TOKENS).json()["results"] == []
    token.refresh_from_db()
    assert token.revoked_at is None

    assert client_for(None, owner).delete(f"{TOKENS}{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
     ({"name": "x", "expires_at": "tomorrow"}, "expires_at"), ({"name": "x" * 101}, "name")],
)  # fmt: skip
def test_token_creation_refuses_bad_input(payload, field):
    user = UserFactory()
    response = client_for(None, user).post(TOKENS, payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_tokens_need_a_browser_login_and_live_on_the_root_domain(org_a):
    assert Client(HTTP_HOST="localhost").get(TOKENS).status_code == 403
    assert client_for(org_a, UserFactory()).get(TOKENS).status_code == 404


@pytest.mark.django_db
def test_a_token_cannot_mint_or_revoke_tokens():
    user = UserFactory()
    token, key = api_token_create(user=user, name="leaked", expires_at=timezone.now() + timedelta(days=1))
    by_token = _with_token(None, key)

    assert by_token.post(TOKENS, {"name": "forever"}, content_type="application/json").status_code == 403
    assert by_token.delete(f"{TOKENS}{token.pk}/").status_code == 403
    assert ApiToken.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_token_list_query_count_is_constant():
    user = UserFactory()
    client = client_for(None, user)
    for index in range(5):
        api_token_create(user=user, name=f"token {index}")
    client.get(TOKENS)

    with CaptureQueriesContext(connection) as queries:
        assert len(client.get(TOKENS).json()["results"]) == 5
    # search_path, user, count, tokens (session from the cache)
    assert len(queries.captured_queries) == 4, [q["sql"] for q in queries.captured_queries]
