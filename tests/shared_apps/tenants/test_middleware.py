import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Domain, Membership, OrgRole
from shared_apps.tenants.services import membership_add, organization_status_set
from shared_apps.tenants.spares import spare_create
from tests.conftest import client_for
from tests.factories import UserFactory


def _owner(organization):
    return User.objects.get(email=f"owner@{organization.slug}.test")


@pytest.mark.django_db
def test_organisation_domain_serves_that_organisation(org_a):
    response = client_for(org_a, _owner(org_a)).get("/")
    assert response.status_code == 200
    assert "Alpha Corp" in response.text


@pytest.mark.django_db
def test_organisation_home_sends_anonymous_visitors_to_log_in(org_a):
    response = client_for(org_a).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


@pytest.mark.django_db
def test_organisation_home_refuses_a_member_of_another_organisation(org_a, org_b):
    response = client_for(org_a, _owner(org_b)).get("/")
    assert response.status_code == 403
    assert "Members only" in response.text
    assert "Alpha Corp" in response.text  # names where they are, shows nothing of it


@pytest.mark.django_db
def test_root_domain_serves_the_platform():
    response = client_for(None).get("/")
    assert response.status_code == 200
    assert "Platform admin" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["nobody.localhost", "evil.example.com", "a.b.localhost"])
def test_unknown_host_gets_a_clean_404_page(host):
    from django.test import Client

    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text


@pytest.mark.django_db
def test_unknown_subdomain_renders_the_not_found_page():
    from django.test import Client

    response = Client(HTTP_HOST="nobody.localhost").get("/api/v1/organization/")
    assert response.status_code == 404
    assert "Not found" in response.text


@pytest.mark.django_db
def test_a_spare_schema_is_not_reachable_even_with_a_domain():
    spare = spare_create()
    Domain.objects.create(domain="sneaky.localhost", tenant=spare, is_primary=True)
    from django.test import Client

    assert Client(HTTP_HOST="sneaky.localhost").get("/").status_code == 404


@pytest.mark.django_db
def test_host_lookup_is_cached_after_the_first_request(org_a):
    client = client_for(org_a, _owner(org_a))
    with CaptureQueriesContext(connection) as first:
        assert client.get("/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/").status_code == 200

    assert any("tenants_domain" in query["sql"] for query in first.captured_queries)
    assert not any("tenants_domain" in query["sql"] for query in second.captured_queries)
    assert len(second.captured_queries) < len(first.captured_queries)


@pytest.mark.django_db
def test_changing_a_domain_invalidates_the_cached_lookup(org_a):
    old = client_for(org_a, _owner(org_a))
    assert old.get("/").status_code == 200  # now cached

    domain = Domain.objects.get(tenant=org_a)
    domain.domain = "alpha-renamed.localhost"
    domain.save()

    assert old.get("/").status_code == 404
    renamed = client_for(None, _owner(org_a))
    assert renamed.get("/", HTTP_HOST="alpha-renamed.localhost").status_code == 200


@pytest.mark.django_db
def test_changing_an_organisation_invalidates_the_cached_lookup(org_a):
    client = client_for(org_a, _owner(org_a))
    assert "Alpha Corp" in client.get("/").text  # now cached

    org_a.name = "Alpha Renamed"
    org_a.save(update_fields=["name"])

    assert "Alpha Renamed" in client.get("/").text


@pytest.mark.django_db
def test_cached_organisation_is_complete(org_a):
    from shared_apps.tenants.host_cache import organization_for_host

    organization_for_host("alpha.localhost")  # cache it
    cached = organization_for_host("alpha.localhost")
    assert cached.created_at == org_a.created_at
    assert cached.activated_at == org_a.activated_at
    assert cached.pk == org_a.pk


@pytest.mark.django_db
def test_suspended_organisation_answers_403_to_members_and_keeps_its_data(org_a):
    member = UserFactory()
    membership_add(organization=org_a, user=member, role=OrgRole.OWNER)
    client = client_for(org_a, member)
    assert client.get("/api/v1/organization/").status_code == 200  # cached as active

    organization_status_set(organization=org_a, status="suspended")

    api = client.get("/api/v1/organization/")
    assert api.status_code == 403
    assert api.json()["code"] == "organization_suspended"
    page = client.get("/")
    assert page.status_code == 403
    assert "is suspended" in page.text
    assert Membership.objects.filter(organization=org_a, user=member).exists()

    organization_status_set(organization=org_a, status="active")
    assert client.get("/api/v1/organization/").status_code == 200


@pytest.mark.django_db
def test_platform_staff_still_reach_a_suspended_organisation(org_a):
    staff = UserFactory(is_staff=True)
    member = UserFactory()
    for user in (staff, member):
        membership_add(organization=org_a, user=user, role=OrgRole.MEMBER)
    organization_status_set(organization=org_a, status="suspended")

    assert client_for(org_a, staff).get("/").status_code == 200
    assert client_for(org_a, member).get("/").status_code == 403


@pytest.mark.django_db
def test_a_cached_entry_from_before_a_new_field_is_looked_up_again(org_a):
    from django.core.cache import caches

    from shared_apps.tenants.host_cache import _key, _to_fields, organization_for_host

    old_entry = _to_fields(org_a)
    del old_entry["time_zone"]  # cached by the release before the field existed
    caches["platform"].set(_key("alpha.localhost"), old_entry, 60)

    organization = organization_for_host("alpha.localhost")

    assert organization.pk == org_a.pk
    assert organization.time_zone == "UTC"
    assert "time_zone" in caches["platform"].get(_key("alpha.localhost"))


def _stale_entry_for(organization) -> dict:
    """What another database sharing this Redis (a benchmark's) caches for the same host:
    an organisation and schema that do not exist here."""
    from shared_apps.tenants.host_cache import _to_fields

    entry = _to_fields(organization)
    entry.update(id=organization.pk + 100_000, schema_name="org_gone_elsewhere")
    return entry


@pytest.mark.django_db
def test_a_stale_cached_entry_falls_back_to_the_database(org_a):
    from django.core.cache import caches

    from shared_apps.tenants import host_cache

    host_cache._verified.clear()  # a fresh process (a new gunicorn worker)
    caches["platform"].set(host_cache._key("alpha.localhost"), _stale_entry_for(org_a), 300)

    response = client_for(org_a, _owner(org_a)).get("/")

    assert response.status_code == 200
    assert "Alpha Corp" in response.text
    assert caches["platform"].get(host_cache._key("alpha.localhost"))["schema_name"] == org_a.schema_name


@pytest.mark.django_db
def test_a_stale_entry_replacing_a_verified_one_is_checked_again(org_a):
    """The entry changes under a process that already trusted the host (another stack
    wrote its own organisation under the same key): checked again, not served."""
    from django.core.cache import caches

    from shared_apps.tenants import host_cache

    client = client_for(org_a, _owner(org_a))
    assert client.get("/").status_code == 200  # looked up and trusted here
    caches["platform"].set(host_cache._key("alpha.localhost"), _stale_entry_for(org_a), 300)

    response = client.get("/")

    assert response.status_code == 200
    assert "Alpha Corp" in response.text


@pytest.mark.django_db
def test_a_trusted_entry_costs_no_query_on_later_requests(org_a):
    # An API request: the pages' shell lists the user's organisations (a query of its own).
    client = client_for(org_a, _owner(org_a))
    assert client.get("/api/v1/projects/").status_code == 200
    with CaptureQueriesContext(connection) as later:
        assert client.get("/api/v1/projects/").status_code == 200
    assert not any("tenants_organization" in query["sql"] for query in later.captured_queries)
