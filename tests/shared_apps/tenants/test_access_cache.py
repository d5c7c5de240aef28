"""Sessions, memberships and members are cached; access must still end at once."""

import pytest
from django.conf import settings
from django.test import Client

from shared_apps.accounts.services import user_deactivate
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tests.helpers import verified_user

PASSWORD = "a-long-enough-passphrase-42"


@pytest.mark.django_db
def test_logging_out_on_one_domain_ends_the_cached_session_everywhere(org_a):
    user = verified_user("roamer@example.test", PASSWORD)
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    root = Client(HTTP_HOST=settings.BASE_DOMAIN)
    assert root.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    # The same session cookie at an organisation's domain, as a browser sends a cookie
    # set for the parent domain (a copy: the logout below must not clear it here).
    alpha = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    alpha.cookies[settings.SESSION_COOKIE_NAME] = root.cookies[settings.SESSION_COOKIE_NAME].value
    assert alpha.get("/api/v1/organization/").status_code == 200  # session now cached
    assert alpha.get("/api/v1/organization/").status_code == 200

    assert root.post("/accounts/logout/").status_code == 302

    assert alpha.cookies[settings.SESSION_COOKIE_NAME].value  # still sent
    assert alpha.get("/api/v1/organization/").status_code == 401


@pytest.mark.django_db
def test_a_deactivated_user_is_refused_despite_cached_membership(org_a):
    user = verified_user("leaver@example.test", PASSWORD)
    membership_add(organization=org_a, user=user, role=OrgRole.ADMIN)
    client = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    client.force_login(user)
    assert client.get("/api/v1/usage/").status_code == 200  # membership and member cached

    user_deactivate(user=user)

    assert client.get("/api/v1/usage/").status_code in (401, 403)
    assert client.get("/api/v1/projects/").status_code in (401, 403)


@pytest.mark.django_db
def test_a_demoted_admin_loses_admin_rights_on_the_next_request(org_a):
    user = verified_user("demoted@example.test", PASSWORD)
    membership_add(organization=org_a, user=user, role=OrgRole.ADMIN)
    client = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    client.force_login(user)
    assert client.get("/api/v1/usage/").status_code == 200

    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)

    assert client.get("/api/v1/usage/").status_code == 403
    assert client.get("/api/v1/organization/").json()["role"] == "member"


@pytest.mark.django_db
def test_sessions_stay_in_the_cache_only_briefly(org_a):
    """If a logout's cache delete is lost (Redis down), the database decides again after
    SESSION_CACHE_SECONDS instead of after the session's two weeks."""
    import redis

    user = verified_user("brief@example.test", PASSWORD)
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    client = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    client.force_login(user)
    assert client.get("/api/v1/organization/").status_code == 200
    raw = redis.Redis.from_url(settings.TEST_REDIS_URL)
    session_keys = [key for key in raw.keys("*") if b"django.contrib.sessions.cached_db" in key]
    assert session_keys
    assert all(0 < raw.ttl(key) <= settings.SESSION_CACHE_SECONDS for key in session_keys)
    assert settings.SESSION_COOKIE_AGE > settings.SESSION_CACHE_SECONDS * 100
