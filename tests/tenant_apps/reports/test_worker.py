"""End to end on a real Celery worker (real Redis, committed data): request through the
API, watch progress, done, download; and a request whose message was lost (broker
down) finished after the sweep re-sends it."""

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from shared_apps.tenants.models import Organization
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Event
from tenant_apps.projects.models import Project
from tenant_apps.projects.services import project_create
from tenant_apps.reports import writers
from tenant_apps.reports.models import Report
from tenant_apps.reports.services import generation, requests
from tenant_apps.reports.tasks import reports_sweep_task
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.services import task_create
from tests.celery_support import running_worker
from tests.conftest import client_for

URL = "/api/v1/reports/"
ROWS = 30


@pytest.fixture
def alpha_project(committed):
    """Project RPT in alpha with ROWS tasks completed on 2 Nov 2026, removed after."""
    organization = Organization.objects.get(slug="alpha")
    with schema_context(organization.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project = project_create(key="RPT", name="Reporting", actor=owner)
        for index in range(ROWS):
            task = task_create(project=project, actor=owner, title=f"Отчёт {index}")
            Task.objects.filter(pk=task.pk).update(
                status="done",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
                completed_at=datetime(2026, 11, 2, index, tzinfo=UTC)
                if index < 24
                else datetime(2026, 11, 3, tzinfo=UTC),
            )
    try:
        yield organization
    finally:
        with schema_context(organization.schema_name):
            Report.objects.all().delete()
            Project.objects.filter(pk=project.pk).delete()
            Event.objects.all().delete()  # and the notifications made of them


def _wait_until_done(client, report_id: int, seconds: float = 30) -> tuple[dict, list[tuple[str, int]]]:
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"{URL}{report_id}/").json()
        if not seen or seen[-1] != (body["status"], body["progress"]):
            seen.append((body["status"], body["progress"]))
        if body["status"] in ("done", "failed"):
            return body, seen
        time.sleep(0.02)
    raise AssertionError(f"report {report_id} not finished: {seen}")


def test_report_end_to_end_on_a_real_worker(alpha_project, monkeypatch):
    organization = alpha_project
    owner_user = organization.memberships.get(role="owner").user
    client = client_for(organization, owner_user)
    finished: list[int] = []
    real_finish = generation.report_finish

    def finish_spy(**kwargs):
        finished.append(kwargs["report"].pk)
        return real_finish(**kwargs)

    def slow_rows(on_progress):
        # Slow enough for the API to watch it move (the worker runs in this process);
        # PostgreSQL writes the CSV's rows (COPY), each counted as it arrives.
        count = 0

        def row_written():
            nonlocal count
            count += 1
            time.sleep(0.03)
            on_progress(count)

        return row_written

    monkeypatch.setattr(generation, "report_finish", finish_spy)
    monkeypatch.setattr(writers, "_progress_counter", slow_rows)

    with running_worker():
        response = client.post(
            URL,
            {"kind": "completed_tasks", "format": "csv", "project": "RPT", "from": "2026-11-02", "to": "2026-11-03"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        report_id = response.json()["id"]
        body, seen = _wait_until_done(client, report_id)
        deadline = time.monotonic() + 20
        while not client.get("/api/v1/notifications/").json()["count"] and time.monotonic() < deadline:
            time.sleep(0.05)

    assert body["status"] == "done", body
    # The requester heard of it, in the app (and by email), with the download link.
    (notice,) = client.get("/api/v1/notifications/").json()["results"]
    assert (notice["kind"], notice["text"]) == ("report.ready", "Your report “Completed tasks” is ready")
    assert notice["url"] == f"/api/v1/reports/{report_id}/download/"
    russian = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="ru").json()["results"][0]["text"]
    assert russian.startswith("Ваш отчёт «")
    assert (body["row_count"], body["progress"]) == (24, 100)
    # Progress seen through the API while the worker wrote the rows.
    assert any(status == "running" and 0 < progress < 100 for status, progress in seen), seen
    # The single completion point, where the "report is ready" notification is sent.
    assert finished == [report_id]
    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == [f"Отчёт {index}" for index in range(24)]


def test_a_lost_message_is_resent_by_the_sweep_and_completes(alpha_project, monkeypatch):
    organization = alpha_project
    client = client_for(organization, organization.memberships.get(role="owner").user)
    # The broker is down at request time: the message never leaves.
    monkeypatch.setattr(requests, "enqueue_on_commit", lambda *args, **kwargs: None)
    response = client.post(URL, {"kind": "workload", "format": "xlsx"}, content_type="application/json")
    assert response.status_code == 201
    report_id = response.json()["id"]
    time.sleep(0.5)
    assert client.get(f"{URL}{report_id}/").json()["status"] == "queued"

    with schema_context(organization.schema_name):
        Report.objects.filter(pk=report_id).update(dispatched_at=datetime.now(tz=UTC) - timedelta(minutes=10))
    with running_worker():
        assert reports_sweep_task.run()["redispatched"] == 1
        body, _seen = _wait_until_done(client, report_id)

    assert body["status"] == "done"
    assert client.get(body["download_url"]).status_code == 200


# --- Liveness: heartbeats during the query and the save; dead workers' reports re-sent ----


def test_default_liveness_settings_retake_a_dead_workers_report_within_a_minute():
    from django.conf import settings

    assert settings.TESSERA_REPORT_STALE_SECONDS + settings.TESSERA_REPORT_STALE_CHECK_SECONDS <= 60
    # Several heartbeats fit in the stale window: one late write never looks like a death.
    assert settings.TESSERA_REPORT_HEARTBEAT_SECONDS * 3 <= settings.TESSERA_REPORT_STALE_SECONDS
    schedule = settings.CELERY_BEAT_SCHEDULE["reports-requeue-stale"]
    assert schedule["schedule"] == settings.TESSERA_REPORT_STALE_CHECK_SECONDS
    assert schedule["tenant_schemas"] == ["public"]


def test_a_slow_but_alive_report_is_never_taken_over(alpha_project, monkeypatch, settings):
    """The query and the file save each take longer than the stale window, without a
    single progress update: the heartbeat thread keeps the report alive, and the frequent
    check that runs meanwhile never re-queues it."""
    import dataclasses
    import threading

    from tenant_apps.reports.kinds import KINDS
    from tenant_apps.reports.tasks import reports_requeue_stale_task

    settings.TESSERA_REPORT_HEARTBEAT_SECONDS = 0.2
    settings.TESSERA_REPORT_STALE_SECONDS = 1
    organization = alpha_project
    client = client_for(organization, organization.memberships.get(role="owner").user)
    kind = KINDS["workload"]

    def slow_query(scope):
        time.sleep(2.5)
        return kind.build(scope)

    real_storage = generation.storage

    class SlowStorage:
        def save(self, name, content):
            time.sleep(2.5)
            return real_storage().save(name, content)

    monkeypatch.setitem(KINDS, "workload", dataclasses.replace(kind, build=slow_query))
    monkeypatch.setattr(generation, "storage", SlowStorage)
    checks: list[dict] = []
    stop = threading.Event()

    def check_often():
        try:
            while not stop.is_set():
                checks.append(reports_requeue_stale_task.run())
                time.sleep(0.3)
        finally:
            connections.close_all()

    checker = threading.Thread(target=check_often)
    with running_worker():
        response = client.post(URL, {"kind": "workload", "format": "csv"}, content_type="application/json")
        assert response.status_code == 201
        report_id = response.json()["id"]
        checker.start()
        try:
            body, _seen = _wait_until_done(client, report_id, seconds=60)
        finally:
            stop.set()
            checker.join(10)

    assert body["status"] == "done", body
    assert len(checks) > 10
    assert not any(check.get("requeued") for check in checks), checks
    with schema_context(organization.schema_name):
        assert Report.objects.get(pk=report_id).attempts == 1


def test_a_dead_workers_report_is_sent_again_by_the_frequent_check(alpha_project):
    """A report left `running` by a worker that died (its heartbeat stopped longer ago than
    the stale window): the next check, a few seconds later, hands it to a live worker."""
    from django.conf import settings

    from tenant_apps.reports.tasks import reports_requeue_stale_task

    organization = alpha_project
    client = client_for(organization, organization.memberships.get(role="owner").user)
    with running_worker():
        response = client.post(URL, {"kind": "workload", "format": "json"}, content_type="application/json")
        report_id = response.json()["id"]
        _wait_until_done(client, report_id)
        # Now as if its worker had died mid-way, just over the stale window ago.
        died = datetime.now(tz=UTC) - timedelta(seconds=settings.TESSERA_REPORT_STALE_SECONDS + 1)
        with schema_context(organization.schema_name):
            Report.objects.filter(pk=report_id).update(status="running", heartbeat_at=died, progress=40)
        assert organization.schema_name in generation.running_schemas_list()

        counts = reports_requeue_stale_task.run()
        body, _seen = _wait_until_done(client, report_id)

    assert (counts["requeued"], counts["redispatched"]) == (1, 1)
    assert body["status"] == "done"
    with schema_context(organization.schema_name):
        assert Report.objects.get(pk=report_id).attempts == 2
    # Nothing runs there any more: the next check no longer visits the organisation.
    reports_requeue_stale_task.run()
    assert organization.schema_name not in generation.running_schemas_list()


def test_a_live_report_just_under_the_stale_window_is_left_alone(alpha_project):
    from django.conf import settings

    from tenant_apps.reports.tasks import reports_requeue_stale_task

    organization = alpha_project
    with schema_context(organization.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        report, _created = requests.report_request(
            actor=owner, kind="workload", format="csv", params={}, time_zone="UTC"
        )
        recent = datetime.now(tz=UTC) - timedelta(seconds=settings.TESSERA_REPORT_STALE_SECONDS - 5)
        Report.objects.filter(pk=report.pk).update(status="running", heartbeat_at=recent, attempts=1)
    generation.running_schema_add(organization.schema_name)

    assert reports_requeue_stale_task.run().get("requeued", 0) == 0
    with schema_context(organization.schema_name):
        assert Report.objects.get(pk=report.pk).status == "running"
    assert organization.schema_name in generation.running_schemas_list()
