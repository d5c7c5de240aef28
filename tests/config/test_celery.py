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


@pytest.mark.django_db
def test_a_task_enqueued_by_its_name_carries_the_schema_header(monkeypatch, django_capture_on_commit_callbacks):
    # Services enqueue their app's worker tasks by registered name (no import of
    # tasks.py, which imports them): the name resolves to the same task, and the
    # explicit `_schema_name` header goes with it, on commit and when sent directly.
    from celery import Task as CeleryTask

    from tenant_apps.notifications.task_names import EMAIL_SEND, EVENT_PROCESS, WEBHOOK_DELIVER
    from tenant_apps.reports.task_names import REPORT_EMAIL, REPORT_GENERATE

    sent = []

    def apply_async(self, args=None, kwargs=None, **options):
        sent.append((self.name, list(args or ()), options.get("headers")))

    monkeypatch.setattr(CeleryTask, "apply_async", apply_async)
    names = [EVENT_PROCESS, EMAIL_SEND, WEBHOOK_DELIVER, REPORT_GENERATE, REPORT_EMAIL]
    for number, name in enumerate(names):
        send_in_schema(name, schema_name="org_direct", args=[number])
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(REPORT_GENERATE, args=[7], schema_name="org_later")
        assert [entry for entry in sent if entry[2] == {"_schema_name": "org_later"}] == []  # not before the commit
    assert sent == [
        *[(name, [number], {"_schema_name": "org_direct"}) for number, name in enumerate(names)],
        (REPORT_GENERATE, [7], {"_schema_name": "org_later"}),
    ]


@pytest.mark.django_db
def test_an_unknown_task_name_fails_the_write_instead_of_losing_the_message():
    from celery.exceptions import NotRegistered

    with pytest.raises(NotRegistered), transaction.atomic():
        enqueue_on_commit("notifications.no_such_task", args=[1], schema_name="org_x")
    with pytest.raises(NotRegistered):
        send_in_schema("reports.no_such_task", schema_name="org_x")


def test_a_task_sent_by_name_survives_an_unreachable_broker(monkeypatch):
    from kombu.exceptions import OperationalError

    from tenant_apps.notifications.task_names import EVENT_PROCESS

    task = app.tasks[EVENT_PROCESS]

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(type(task), "apply_async", broker_down)
    assert send_in_schema(EVENT_PROCESS, schema_name="org_x", args=[1]) is None
