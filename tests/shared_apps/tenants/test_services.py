import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from shared_apps.tenants.migration_state import schemas_behind
from shared_apps.tenants.models import Domain, Membership, Organization, OrgRole
from shared_apps.tenants.services import organization_create
from shared_apps.tenants.spares import spare_create, spare_pool_fill
from tenant_apps.members.models import Member
from tests.factories import UserFactory
from tests.helpers import run_together


def _spares() -> int:
    return Organization.objects.filter(status=Organization.Status.SPARE).count()


@pytest.mark.django_db
def test_organization_create_claims_a_spare_and_writes_everything():
    spare = spare_create()
    owner = UserFactory(email="Founder@Example.test")

    organization = organization_create(slug="Rocket", name="  Rocket Labs ", owner=owner)

    assert organization.pk == spare.pk
    assert organization.schema_name == spare.schema_name
    assert organization.schema_name.startswith("org_")
    assert "rocket" not in organization.schema_name
    assert (organization.slug, organization.name, organization.status) == ("rocket", "Rocket Labs", "active")
    assert organization.activated_at is not None
    assert Domain.objects.get(tenant=organization).domain == "rocket.localhost"
    assert Membership.objects.get(organization=organization).role == OrgRole.OWNER
    with schema_context(organization.schema_name):
        member = Member.objects.get()
    assert (member.user_id, member.email, member.role) == (owner.pk, owner.email, "owner")
    assert _spares() == 0


@pytest.mark.django_db
def test_organization_create_with_empty_pool_creates_the_schema_directly():
    assert _spares() == 0
    owner = UserFactory()

    organization = organization_create(slug="direct", name="Direct", owner=owner)

    assert organization.status == Organization.Status.ACTIVE
    assert schemas_behind([organization.schema_name]) == []
    with schema_context(organization.schema_name):
        assert Member.objects.filter(user_id=owner.pk, role="owner").exists()
    assert _spares() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("ab", "slug_length"),
        ("a" * 41, "slug_length"),
        ("has space", "slug_invalid"),
        ("-lead", "slug_invalid"),
        ("trail-", "slug_invalid"),
        ("xn--punycode", "slug_invalid"),
        ("under_score", "slug_invalid"),
        ("ümlaut", "slug_invalid"),
        ("www", "slug_reserved"),
        ("admin", "slug_reserved"),
        ("API", "slug_reserved"),
        ("public", "slug_reserved"),
    ],
)
def test_organization_create_refuses_bad_slugs_and_changes_nothing(slug, code):
    spare_create()
    before = list(Organization.objects.values_list("pk", "status", "slug"))
    memberships = Membership.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        organization_create(slug=slug, name="Bad", owner=UserFactory())

    assert excinfo.value.error_dict["slug"][0].code == code
    assert list(Organization.objects.values_list("pk", "status", "slug")) == before
    assert Membership.objects.count() == memberships
    assert not Domain.objects.filter(domain__startswith=slug.lower()[:10]).exists()


@pytest.mark.django_db
def test_organization_create_refuses_a_taken_slug_case_insensitively(org_a):
    spare_create()
    with pytest.raises(ValidationError) as excinfo:
        organization_create(slug="ALPHA", name="Copycat", owner=UserFactory())
    assert "already taken" in str(excinfo.value)
    assert _spares() == 1


@pytest.mark.django_db
def test_organization_create_requires_a_name():
    with pytest.raises(ValidationError) as excinfo:
        organization_create(slug="nameless", name="   ", owner=UserFactory())
    assert "name" in excinfo.value.message_dict


def _schema_structure(schema: str) -> dict[str, set]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [schema],
        )
        tables = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = %s",
            [schema],
        )
        constraints = {
            (table, name, kind, definition.replace(schema, "<schema>"))
            for table, name, kind, definition in cursor.fetchall()
        }
        cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s", [schema])
        indexes = set(cursor.fetchall())
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608
        migrations = set(cursor.fetchall())
    return {"tables": tables, "constraints": constraints, "indexes": indexes, "migrations": migrations}


@pytest.mark.django_db
def test_pooled_and_direct_organisations_have_identical_schemas():
    direct = organization_create(slug="direct", name="Direct", owner=UserFactory())
    spare_create()
    pooled = organization_create(slug="pooled", name="Pooled", owner=UserFactory())

    direct_structure = _schema_structure(direct.schema_name)
    pooled_structure = _schema_structure(pooled.schema_name)

    tenant_tables = {
        model._meta.db_table
        for model in apps.get_models()
        if apps.get_app_config(model._meta.app_label).name in settings.TENANT_APPS
    }
    assert direct_structure["tables"] >= tenant_tables | {"django_migrations"}
    assert direct_structure["indexes"]
    assert pooled_structure == direct_structure
    assert schemas_behind([direct.schema_name, pooled.schema_name]) == []


@pytest.mark.django_db
def test_schemas_behind_finds_a_schema_missing_a_migration(org_a, org_b):
    assert schemas_behind([org_a.schema_name, org_b.schema_name]) == []
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{org_b.schema_name}".django_migrations WHERE app = %s', ["members"])  # noqa: S608

    assert schemas_behind([org_a.schema_name, org_b.schema_name]) == [org_b.schema_name]


@pytest.mark.django_db
def test_spare_pool_fill_tops_up_to_the_target():
    assert spare_pool_fill(size=2) == 2
    assert spare_pool_fill(size=2) == 0
    assert _spares() == 2


def test_concurrent_creations_never_claim_the_same_spare(committed):
    spares = {spare_create().schema_name for _ in range(4)}
    owners = [UserFactory() for _ in range(4)]

    results = run_together(4, lambda i: organization_create(slug=f"race-{i}", name=f"Race {i}", owner=owners[i]))

    assert all(isinstance(result, Organization) for result in results), results
    claimed = [result.schema_name for result in results]
    assert len(set(claimed)) == 4
    assert set(claimed) == spares
    assert _spares() == 0
    for organization in results:
        with schema_context(organization.schema_name):
            assert Member.objects.count() == 1


def test_concurrent_sign_ups_for_one_slug_create_one_organisation(committed):
    spare_create()
    spare_create()
    owners = [UserFactory() for _ in range(2)]

    results = run_together(2, lambda i: organization_create(slug="contested", name=f"Team {i}", owner=owners[i]))

    winners = [result for result in results if isinstance(result, Organization)]
    losers = [result for result in results if isinstance(result, ValidationError)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert "already taken" in str(losers[0])
    assert Organization.objects.filter(slug="contested").count() == 1
    assert Domain.objects.filter(domain="contested.localhost").count() == 1
    assert _spares() == 1


def test_concurrent_pool_fillers_never_overfill(committed):
    results = run_together(3, lambda _i: spare_pool_fill(size=3))

    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 3
    assert _spares() == 3


def test_claims_during_a_refill_never_get_a_half_built_schema(committed):
    """A refill running while sign-ups claim: every claim either gets a finished spare or
    creates its own; none sees a spare whose migrations are still running."""
    owners = [UserFactory() for _ in range(3)]

    def work(index: int):
        if index == 0:
            return spare_pool_fill(size=4)
        return [organization_create(slug=f"during-{index}-{n}", name="During", owner=owners[index]) for n in range(3)]

    results = run_together(3, work)

    assert not any(isinstance(result, Exception) for result in results), results
    for organizations in results[1:]:
        for organization in organizations:
            assert schemas_behind([organization.schema_name]) == []
            with schema_context(organization.schema_name):
                assert Member.objects.count() == 1
