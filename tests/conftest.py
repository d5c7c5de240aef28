"""Fixtures for every test: two organisations created once per session, tenant-aware
clients, and a committed-data mode for tests that need real concurrency or a worker.

All of it runs against real PostgreSQL and Redis (platform/dev.py starts them)."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import schema_context
from psycopg2 import sql

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Organization
from shared_apps.tenants.services import domain_for_slug, organization_create
from shared_apps.tenants.template import template_refresh
from tenant_apps.members.models import Member

# Counts browser tests skipped for want of a chromium in the run's summary (also under xdist);
# with TESSERA_TEST_TIMELINE set, records when each test ran in which process (tests/timeline.py).
pytest_plugins = ["tests.browser.summary", "tests.timeline"]

SESSION_ORGS = {"alpha": "Alpha Corp", "bravo": "Bravo Ltd"}
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


def _start_order(item) -> int:
    """Longest first: tests marked `slow` (minutes each), then the browser journeys (tens
    of seconds each), then the rest (mostly well under a second)."""
    if item.get_closest_marker("slow"):
        return 0
    if item.path.is_relative_to(BROWSER_DIR):
        return 1
    return 2


def pytest_collection_modifyitems(config, items) -> None:
    # pytest-xdist (`--dist loadgroup --no-loadscope-reorder`, Makefile; each test is its
    # own unit) hands out work in this order, so the longest tests start at once instead of wherever their file sorts,
    # and the end of the run is the short tests filling the gaps (a stable sort: within a
    # class, collection order is kept).
    items.sort(key=_start_order)


@pytest.fixture(scope="session", autouse=True)
def _redis_fresh() -> None:
    """Each xdist worker owns one Redis database (config/settings/test.py): start it empty,
    so nothing cached or queued by an earlier run leaks into this one."""
    redis.Redis.from_url(settings.TEST_REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings, django_db_keepdb
):
    """The test database plus two organisations, created once (idempotently, so
    `--reuse-db` works) through the same service sign-up uses.

    Replaces pytest-django's fixture rather than wrapping it: that one creates only the
    databases that `db`-marked tests name, so a run of committed-mode tests alone (which
    use `committed`, not `db`) would otherwise talk to the development database."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, keepdb=django_db_keepdb, aliases={"default"}
        )
        # New schemas are cloned from the template (shared_apps/tenants/template.py), as in production.
        template_refresh()
        for slug, name in SESSION_ORGS.items():
            if not Organization.objects.filter(slug=slug).exists():
                owner = User.objects.create_user(email=f"owner@{slug}.test", password="pw")
                organization_create(slug=slug, name=name, owner=owner)
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _cache_isolation() -> Iterator[None]:
    """Tests roll their rows back; drop what they cached too, so no test reads an entry
    about rows that no longer exist."""
    yield
    redis.Redis.from_url(settings.TEST_REDIS_URL).flushdb()
    # A test request leaves the connection in the organisation's schema, as a real request
    # does; the next request would reset it, the next test must not depend on it.
    connection.set_schema_to_public()
    # Files outlive the rolled-back rows that pointed at them: start each test without any.
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def org_a(db) -> Organization:
    return Organization.objects.get(slug="alpha")


@pytest.fixture
def org_b(db) -> Organization:
    return Organization.objects.get(slug="bravo")


def client_for(organization: Organization | None, user: User | None = None) -> Client:
    """A test client whose requests go to the organisation's domain (the root domain for
    None), logged in as `user` when given."""
    host = domain_for_slug(organization.slug) if organization else settings.BASE_DOMAIN
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


def _committed_cleanup() -> None:
    """Drop every organisation (and its schema) and user a committed test created,
    keeping the session's organisations and the public row."""
    connection.set_schema_to_public()
    doomed = Organization.objects.exclude(slug__in=list(SESSION_ORGS)).exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    with connection.cursor() as cursor:
        for schema in doomed.values_list("schema_name", flat=True):
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    doomed.delete()
    User.objects.exclude(email__in=[f"owner@{slug}.test" for slug in SESSION_ORGS]).delete()
    remaining = list(User.objects.values_list("pk", flat=True))
    for organization in Organization.objects.filter(slug__in=list(SESSION_ORGS)):
        with schema_context(organization.schema_name):
            Member.objects.exclude(user_id__in=remaining).delete()


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[None]:
    """For tests that need data really committed (visible to other connections and to a
    Celery worker): no wrapping transaction; what the test created is removed after."""
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            for alias in connections:
                connections[alias].close_if_unusable_or_obsolete()
            _committed_cleanup()


@pytest.fixture
def in_schema():
    """`with in_schema(org):` runs the block in that organisation's schema."""

    def enter(organization: Organization):
        return schema_context(organization.schema_name)

    return enter
