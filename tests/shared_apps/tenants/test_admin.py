import pytest
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tests.conftest import client_for
from tests.factories import UserFactory


@pytest.fixture
def staff_client():
    staff = UserFactory(is_staff=True, is_superuser=True)
    return client_for(None, staff)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/admin/tenants/organization/?q=alpha",
        "/admin/tenants/domain/",
        "/admin/tenants/membership/?q=alpha",
        "/admin/tenants/invitation/",
        "/admin/accounts/user/?q=owner",
        "/admin/accounts/apitoken/",
    ],
)
def test_platform_staff_see_the_admin_pages(staff_client, org_a, path):
    response = staff_client.get(path)
    assert response.status_code == 200


@pytest.mark.django_db
def test_organisation_page_shows_its_members(staff_client, org_a):
    response = staff_client.get(f"/admin/tenants/organization/{org_a.pk}/change/")
    assert response.status_code == 200
    assert "owner@alpha.test" in response.text


@pytest.mark.django_db
def test_staff_suspend_and_reactivate_from_the_admin(staff_client, org_a):
    staff_client.post("/admin/tenants/organization/", {"action": "suspend", "_selected_action": [org_a.pk]})
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.SUSPENDED
    staff_client.post("/admin/tenants/organization/", {"action": "reactivate", "_selected_action": [org_a.pk]})
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.ACTIVE


@pytest.mark.django_db
def test_staff_deactivate_a_user_from_the_admin(staff_client, org_a):
    person = UserFactory()
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)

    staff_client.post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [person.pk]})

    person.refresh_from_db()
    assert person.is_active is False
    with schema_context(org_a.schema_name):
        assert Member.objects.get(user_id=person.pk).is_active is False


@pytest.mark.django_db
def test_the_admin_is_for_platform_staff_on_the_root_domain_only(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    assert client_for(None, owner).get("/admin/").status_code == 302  # to the admin login
    assert client_for(org_a, UserFactory(is_staff=True, is_superuser=True)).get("/admin/").status_code == 404
