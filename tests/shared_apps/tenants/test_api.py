import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tests.conftest import client_for
from tests.factories import UserFactory

URL = "/api/v1/organization/"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST])
def test_current_organization_for_each_member_role(org_a, role):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=role)

    response = client_for(org_a, user).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Alpha Corp"
    assert body["slug"] == "alpha"
    assert body["domain"] == "alpha.localhost"
    assert body["role"] == role


@pytest.mark.django_db
def test_current_organization_refuses_anonymous(org_a):
    response = client_for(org_a).get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_current_organization_refuses_a_member_of_another_organisation(org_a, org_b):
    outsider = UserFactory()
    membership_add(organization=org_b, user=outsider, role=OrgRole.OWNER)

    response = client_for(org_a, outsider).get(URL)

    assert response.status_code == 403
    assert "Alpha" not in response.text


@pytest.mark.django_db
def test_current_organization_refuses_a_deactivated_member(org_a):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.ADMIN)
    client = client_for(org_a, user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_current_organization_is_read_only(org_a):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.OWNER)
    client = client_for(org_a, user)

    response = client.post(URL, {"name": "Hijacked"}, content_type="application/json")

    assert response.status_code == 405
    org_a.refresh_from_db()
    assert org_a.name == "Alpha Corp"


@pytest.mark.django_db
def test_current_organization_query_count_is_constant(org_a):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    client = client_for(org_a, user)
    client.get(URL)  # warm the host cache

    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    # search_path, user; no domain lookup, and session and membership from the cache.
    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]
