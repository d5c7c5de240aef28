import time

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context
from tenant_schemas_celery.app import CeleryApp

from config.celery import app, enqueue_on_commit, send_in_schema
from shared_apps.tenants.models import Organization
from tenant_apps.members.models import Member
from tests.celery_support import running_worker, schema_probe


@pytest.fixture
def worker(committed):
    with running_worker() as worker:
        yield worker


def _orgs() -> tuple[Organization, Organization]:
    return Organization.objects.get(slug="alpha"), Organization.objects.get(slug="bravo")


def _add_marker(organization: Organization, marker: str) -> None:
    with schema_context(organization.schema_name):
        Member.objects.create(user_id=hash(marker) % 10**9, email=marker)


def test_task_sent_inside_a_tenant_runs_in_that_schema_on_a_real_worker(worker):
    alpha, bravo = _orgs()
    results = {}
    for organization in (alpha, bravo):
        _add_marker(organization, f"marker@{organization.slug}.test")
    for organization in (alpha, bravo):
        with schema_context(organization.schema_name):
            # A plain .delay() inside the tenant: tenant-schemas-celery adds the header.
            results[organization.slug] = schema_probe.delay(f"marker@{organization.slug}.test")

    assert results["alpha"].get(timeout=20) == {"schema": alpha.schema_name, "marker_seen": True}
    assert results["bravo"].get(timeout=20) == {"schema": bravo.schema_name, "marker_seen": True}


def test_enqueue_on_commit_keeps_the_schema_after_the_context_exits(worker):
    alpha, bravo = _orgs()
    _add_marker(bravo, "late@bravo.test")
    with transaction.atomic():
        with schema_context(bravo.schema_name):
            enqueue_on_commit(schema_probe, args=["late@bravo.test"])
        # The schema context has exited before the commit sends the task.
        assert connection.schema_name == "public"

    deadline = time.monotonic() + 20
    answer = None
    while answer is None and time.monotonic() < deadline:
        with schema_context(bravo.schema_name):
            answer = cache.get("probe:late@bravo.test")
        time.sleep(0.1)
    assert answer == {"schema": bravo.schema_name, "marker_seen": True}
    with schema_context(alpha.schema_name):
        assert cache.get("probe:late@bravo.test") is None


def test_enqueue_on_commit_sends_nothing_when_the_transaction_rolls_back(committed):
    alpha, _bravo = _orgs()

    class Boom(Exception):
        pass

    def write_then_fail() -> None:
        with transaction.atomic():
            with schema_context(alpha.schema_name):
                enqueue_on_commit(schema_probe, args=["never"])
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()
    with app.connection_for_write() as conn:
        queued = conn.default_channel.client.llen(app.conf.task_default_queue)
    assert queued == 0


def test_send_in_schema_survives_an_unreachable_broker():
    dead = CeleryApp("dead-broker", broker="redis://127.0.0.1:1/0", set_as_current=False)
    dead.conf.broker_transport_options = app.conf.broker_transport_options

    @dead.task(name="tests.never_delivered")
    def never_delivered() -> None:
        raise AssertionError("the broker is down; this cannot run")

    started = time.monotonic()
    assert send_in_schema(never_delivered, schema_name="public") is None
    assert time.monotonic() - started < 5  # fails fast instead of blocking the request


def test_celery_settings_follow_the_design():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
