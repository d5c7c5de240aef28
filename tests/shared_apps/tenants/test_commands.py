from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.migration_state import schemas_behind
from shared_apps.tenants.models import Domain, Membership, Organization
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Role


@pytest.mark.django_db
def test_create_org_command_creates_the_organisation_and_its_owner():
    out = StringIO()
    call_command("create_org", "globex", "--name", "Globex", "--owner", "Hank@Globex.test", stdout=out)

    organization = Organization.objects.get(slug="globex")
    owner = User.objects.get(email="hank@globex.test")
    assert "globex.localhost" in out.getvalue()
    assert Domain.objects.filter(tenant=organization, domain="globex.localhost").exists()
    assert Membership.objects.get(organization=organization).user == owner
    with schema_context(organization.schema_name):
        assert Member.objects.get().user_id == owner.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "message"),
    [("www", "reserved"), ("admin", "reserved"), ("No_Way", "lowercase letters"), ("x", "3 to 40"), ("alpha", "taken")],
)
def test_create_org_command_refuses_bad_slugs_clearly(org_a, slug, message):
    before = Organization.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_org", slug, "--name", "Nope", "--owner", "nope@example.test", stdout=StringIO())
    assert Organization.objects.count() == before
    assert not User.objects.filter(email="nope@example.test").exists()


@pytest.mark.django_db
def test_migrate_tenants_skips_current_schemas_and_migrates_those_behind(org_a, org_b):
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{org_b.schema_name}".django_migrations WHERE app IN (%s, %s, %s, %s)',  # noqa: S608
            ["projects", "tasks", "notifications", "timetracking"],  # timetracking depends on tasks
        )
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s"
            " AND tablename ~ '^(projects|tasks|notifications|timetracking)_'",
            [org_b.schema_name],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE IF EXISTS "{org_b.schema_name}"."{table}" CASCADE')
    assert schemas_behind() == [org_b.schema_name]

    out = StringIO()
    call_command("migrate_tenants", stdout=out)

    assert "1 schema(s) migrated" in out.getvalue()
    assert schemas_behind() == []
    with schema_context(org_b.schema_name):
        assert Role.objects.filter(is_builtin=True).count() == 4  # tables back, roles seeded


@pytest.mark.django_db
def test_migrate_tenants_with_nothing_to_do_touches_no_schema(org_a, org_b):
    out = StringIO()
    call_command("migrate_tenants", stdout=out)
    assert "0 schema(s) migrated" in out.getvalue()


@pytest.mark.django_db
def test_migrations_are_in_sync_with_the_models():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_its_logins_work():
    from django.test import Client

    from shared_apps.tenants.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PEOPLE

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    acme = Organization.objects.get(slug="acme")
    assert Membership.objects.filter(organization=acme).count() == len(DEMO_PEOPLE)
    for email, _name, role in DEMO_PEOPLE:
        client = Client(HTTP_HOST="acme.localhost")
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, (email, response.content[:300])
        assert client.get("/api/v1/organization/").json()["role"] == role


@pytest.mark.django_db
def test_seed_demo_projects_gives_acme_a_searchable_project():
    from django.test import Client

    from shared_apps.tenants.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo_projects", stdout=StringIO())
    call_command("seed_demo_projects", stdout=StringIO())  # idempotent

    client = Client(HTTP_HOST="acme.localhost")
    client.post("/accounts/login/", {"login": "member@acme.test", "password": DEMO_PASSWORD})
    from tenant_apps.tasks.management.commands.seed_demo_projects import DEMO_TASKS

    tasks = client.get("/api/v1/projects/WEB/tasks/").json()
    assert tasks["count"] == len(DEMO_TASKS)
    board = client.get("/projects/WEB/")
    assert board.status_code == 200
    assert board.text.count('class="card"') == len(DEMO_TASKS)
    found = client.get("/api/v1/tasks/", {"search": "перевод"}).json()["results"]
    assert [task["key"] for task in found] == ["WEB-4"]
