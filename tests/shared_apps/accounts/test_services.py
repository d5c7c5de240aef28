import pytest
from django.db import connection
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.accounts.services import user_deactivate, user_reactivate
from shared_apps.tenants.models import Membership, Organization, OrgRole
from shared_apps.tenants.services import membership_add, organization_create
from shared_apps.tenants.spares import spare_create
from tenant_apps.members.models import Member
from tests.conftest import client_for
from tests.factories import UserFactory

MANY_ORGANISATIONS = 200


def _foreign_keys_into_user_table() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ns.nspname, con.conname FROM pg_constraint con "
            "JOIN pg_namespace ns ON ns.oid = con.connamespace "
            "WHERE con.contype = 'f' AND con.confrelid = 'public.accounts_user'::regclass"
        )
        return cursor.fetchall()


@pytest.mark.slow
@pytest.mark.django_db
def test_user_in_several_organisations_is_deactivated_with_hundreds_present():
    for _index in range(MANY_ORGANISATIONS):
        spare_create()
    person = UserFactory()
    joined = []
    for index in range(5):
        organization = organization_create(slug=f"many-{index}", name=f"Many {index}", owner=UserFactory())
        membership_add(organization=organization, user=person, role=OrgRole.MEMBER)
        joined.append(organization)
    assert Organization.objects.count() > MANY_ORGANISATIONS

    # Only public tables may reference the user table: no tenant schema holds a foreign key.
    assert {schema for schema, _name in _foreign_keys_into_user_table()} == {"public"}

    user_deactivate(user=person, actor=None)

    person.refresh_from_db()
    assert person.is_active is False
    assert person.deactivated_at is not None
    for organization in joined:
        with schema_context(organization.schema_name):
            member = Member.objects.get(user_id=person.pk)
            assert member.is_active is False
            assert Member.objects.filter(is_active=True).count() == 1  # the owner
    # Even a hard delete, which we never do, is not blocked by the schemas.
    other = UserFactory()
    other.delete()
    assert not User.objects.filter(pk=other.pk).exists()


@pytest.mark.django_db
def test_deactivated_user_loses_access_at_once(org_a):
    person = UserFactory()
    membership_add(organization=org_a, user=person, role=OrgRole.ADMIN)
    client = client_for(org_a, person)
    assert client.get("/api/v1/organization/").status_code == 200

    user_deactivate(user=person, actor=None)

    # The session no longer authenticates anyone.
    assert client.get("/api/v1/organization/").status_code == 401
    assert Membership.objects.filter(user=person).exists()  # history is kept


@pytest.mark.django_db
def test_no_tenant_schema_has_a_foreign_key_to_the_user_table(org_a, org_b):
    schemas = {schema for schema, _name in _foreign_keys_into_user_table()}
    assert org_a.schema_name not in schemas
    assert org_b.schema_name not in schemas


@pytest.mark.django_db
def test_reactivated_user_regains_access(org_a):
    person = UserFactory()
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)
    user_deactivate(user=person, actor=None)

    user_reactivate(user=person, actor=None)

    person.refresh_from_db()
    assert person.is_active is True
    assert person.deactivated_at is None
    with schema_context(org_a.schema_name):
        assert Member.objects.get(user_id=person.pk).is_active is True
    assert client_for(org_a, person).get("/api/v1/organization/").status_code == 200
