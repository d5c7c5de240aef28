"""Organisation settings page and the billing page in the shell: owners and admins
change name, language, time zone (audited); bad input inline; members 403; other
tenant refused; the billing page's usage bars."""

import pytest
from django.test import override_settings

from shared_apps.accounts.models import User
from shared_apps.audit.models import AuditEntry
from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tests.conftest import client_for
from tests.factories import UserFactory

URL = "/settings/organization/"


def _owner(org):
    return client_for(org, User.objects.get(email=f"owner@{org.slug}.test"))


def _org(org) -> tuple:
    fresh = Organization.objects.get(pk=org.pk)
    return fresh.name, fresh.language, fresh.time_zone


@pytest.mark.django_db
def test_owner_and_admin_change_name_language_time_zone(org_a):
    response = _owner(org_a).post(URL, {"name": "Alpha Ltd", "language": "ru", "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert _org(org_a) == ("Alpha Ltd", "ru", "Europe/Berlin")
    from django_tenants.utils import schema_context

    with schema_context(org_a.schema_name):
        entry = AuditEntry.objects.get(action="organization.settings_changed")
        assert entry.after == {"name": "Alpha Ltd", "language": "ru", "time_zone": "Europe/Berlin"}
    admin = UserFactory(email="admin@alpha.test")
    membership_add(organization=org_a, user=admin, role=OrgRole.ADMIN)
    client = client_for(org_a, admin)
    assert client.get(URL).status_code == 200
    assert client.post(URL, {"name": "Alpha", "language": "en", "time_zone": "UTC"}).status_code == 302
    assert _org(org_a) == ("Alpha", "en", "UTC")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "language": "en", "time_zone": "UTC"}, "This field is required"),
        ({"name": "   ", "language": "en", "time_zone": "UTC"}, "This field is required"),
        ({"name": "x" * 201, "language": "en", "time_zone": "UTC"}, "at most 200"),
        ({"name": "A", "language": "xx", "time_zone": "UTC"}, "Select a valid choice"),
        ({"name": "A", "language": "en", "time_zone": "Mars/Olympus"}, "not a known time zone"),
    ],
)
def test_bad_input_is_inline_and_saves_nothing(org_a, data, error):
    before = _org(org_a)
    response = _owner(org_a).post(URL, data)
    assert response.status_code == 400
    assert error in response.text
    assert _org(org_a) == before


@pytest.mark.django_db
def test_members_and_guests_are_refused(org_a):
    before = _org(org_a)
    for role in (OrgRole.MEMBER, OrgRole.GUEST):
        user = UserFactory(email=f"{role}@alpha.test")
        membership_add(organization=org_a, user=user, role=role)
        client = client_for(org_a, user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, {"name": "Hijacked", "language": "en", "time_zone": "UTC"}).status_code == 403
        assert 'href="/settings/organization/"' not in client.get("/").text
    assert _org(org_a) == before


@pytest.mark.django_db
def test_another_organisations_owner_is_refused(org_a, org_b):
    before = _org(org_a)
    outsider = client_for(org_a, User.objects.get(email="owner@bravo.test"))
    assert outsider.get(URL).status_code in (302, 403, 404)
    assert outsider.post(URL, {"name": "Hijacked", "language": "en", "time_zone": "UTC"}).status_code in (302, 403, 404)
    assert _org(org_a) == before


@pytest.mark.django_db
def test_the_nav_leads_owners_to_the_settings(org_a):
    page = _owner(org_a).get("/").text
    assert 'href="/settings/organization/"' in page
    assert "soon/settings" not in page
    settings_page = _owner(org_a).get(URL).text
    assert 'href="/settings/webhooks/"' in settings_page
    assert 'href="/billing/"' in settings_page


@pytest.mark.django_db
@override_settings(STRIPE_SECRET_KEY="sk_test_x")
def test_the_billing_page_is_in_the_shell_with_usage_bars(org_a):
    page = _owner(org_a).get("/billing/")
    assert page.status_code == 200
    assert 'class="topbar"' in page.text
    assert "<meter" in page.text
    assert "Members" in page.text
    assert 'href="/settings/webhooks/"' in page.text  # the settings tabs, for owners
