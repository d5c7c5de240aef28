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


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.OWNER, OrgRole.ADMIN])
def test_owners_and_admins_set_the_time_zone_and_name(org_a, role):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=role)
    client = client_for(org_a, user)

    response = client.patch(URL, {"time_zone": "Europe/Berlin", "name": "Alpha GmbH"}, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["time_zone"] == "Europe/Berlin"
    assert response.json()["name"] == "Alpha GmbH"
    org_a.refresh_from_db()
    assert (org_a.time_zone, org_a.name) == ("Europe/Berlin", "Alpha GmbH")
    # The cached host lookup was dropped: the next request sees the new zone.
    assert client.get(URL).json()["time_zone"] == "Europe/Berlin"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.MEMBER, OrgRole.GUEST])
def test_members_and_guests_cannot_change_the_organisation(org_a, role):
    user = UserFactory()
    membership_add(organization=org_a, user=user, role=role)

    response = client_for(org_a, user).patch(URL, {"time_zone": "Asia/Tokyo"}, content_type="application/json")

    assert response.status_code == 403
    org_a.refresh_from_db()
    assert org_a.time_zone == "UTC"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": "Europe/Berlin", "name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_organisation_settings_are_refused_by_field(org_a, payload, field):
    owner = org_a.memberships.get(role=OrgRole.OWNER).user

    response = client_for(org_a, owner).patch(URL, payload, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()
    org_a.refresh_from_db()
    assert (org_a.time_zone, org_a.name) == ("UTC", "Alpha Corp")


@pytest.mark.django_db
def test_an_owner_of_another_organisation_cannot_change_this_one(org_a, org_b):
    outsider = org_b.memberships.get(role=OrgRole.OWNER).user

    response = client_for(org_a, outsider).patch(URL, {"time_zone": "Asia/Tokyo"}, content_type="application/json")

    assert response.status_code == 403
    org_a.refresh_from_db()
    assert org_a.time_zone == "UTC"
