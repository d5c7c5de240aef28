"""The imports' sweep, part of the periodic work: files of imports never started are
deleted after TESSERA_IMPORT_UPLOAD_TTL_HOURS (the import fails, saying why); a queued
import whose message was lost is sent again after TESSERA_IMPORT_REDISPATCH_MINUTES and
never imports twice; a live run is never doubled; an import whose worker keeps dying
fails. Upload and start mark the organisation, so idle ones are never visited."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from shared_apps.core.storage import storage
from shared_apps.tenants.models import PendingWork
from tenant_apps.imports import sweep
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.services import import_run_lock
from tenant_apps.notifications import periodic
from tenant_apps.tasks.models import Task
from tests.tenant_apps.imports.conftest import JSON, csv_bytes
from tests.tenant_apps.imports.test_api import GOOD


def _mark(schema: str):
    row = PendingWork.objects.filter(schema_name=schema).first()
    return row.due_at if row else None


def _sent(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr(sweep, "send_in_schema", lambda task, **kwargs: sent.append((task, kwargs)) or object())
    return sent


def _start(team, import_id: int) -> None:
    response = team.client("Developer").post(
        f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON
    )
    assert response.status_code == 202, response.content


@pytest.mark.django_db
@override_settings(TESSERA_IMPORT_UPLOAD_TTL_HOURS=2)
def test_an_upload_never_started_loses_its_file_after_the_ttl(team, django_capture_on_commit_callbacks):
    PendingWork.objects.all().delete()
    schema = team.organization.schema_name
    old_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    started_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    with team.schema():
        uploaded = TaskImport.objects.get(pk=old_id)
        key = uploaded.storage_key
        assert storage().exists(key)
    # The upload marked the organisation for the moment its file expires.
    assert abs(_mark(schema) - (uploaded.created_at + timedelta(hours=2))) < timedelta(seconds=5)
    _start(team, started_id)
    with team.schema():
        assert sweep.imports_sweep(now=timezone.now() + timedelta(hours=1))["imports_expired"] == 0
        with django_capture_on_commit_callbacks(execute=True):
            counts = sweep.imports_sweep(now=timezone.now() + timedelta(hours=2, minutes=1))
        assert counts["imports_expired"] == 1
        expired = TaskImport.objects.get(pk=old_id)
        assert (expired.status, expired.storage_key) == ("failed", "")
        assert not storage().exists(key)
        assert TaskImport.objects.get(pk=started_id).status == "queued"  # started: not expired
        assert sweep.imports_sweep(now=timezone.now() + timedelta(hours=3))["imports_expired"] == 0  # idempotent
    body = team.client("Developer").get(f"/api/v1/projects/WEB/imports/{old_id}/").json()
    assert body["status"] == "failed"
    assert body["failure_reason"] == "Not started within 2 hours: the file was deleted. Upload it again."
    # A start refused now, nothing imported.
    start = team.client("Developer").post(
        f"/api/v1/projects/WEB/imports/{old_id}/start/", {"mode": "valid_rows"}, content_type=JSON
    )
    assert start.status_code == 400
    with team.schema():
        assert Task.objects.count() == 0


@pytest.mark.django_db
@override_settings(TESSERA_IMPORT_REDISPATCH_MINUTES=10)
def test_a_lost_message_is_sent_again_and_the_import_runs_once(team, monkeypatch):
    sent = _sent(monkeypatch)
    PendingWork.objects.all().delete()
    schema = team.organization.schema_name
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    before = timezone.now()
    _start(team, import_id)  # its message is "lost": on_commit never runs in this test
    assert _mark(schema) <= before + timedelta(minutes=10, seconds=5)  # the start marked it
    with team.schema():
        assert sweep.imports_sweep(now=timezone.now() + timedelta(minutes=5))["imports_redispatched"] == 0
        later = timezone.now() + timedelta(minutes=11)
        assert sweep.imports_sweep(now=later)["imports_redispatched"] == 1
        assert sent == [("imports.run", {"schema_name": schema, "args": [import_id]})]
        assert TaskImport.objects.get(pk=import_id).progressed_at == later
        assert sweep.imports_sweep(now=later + timedelta(minutes=1))["imports_redispatched"] == 0  # sent just now
    # The re-sent message and the original one (arriving late) both run: one import.
    assert team.run(import_id) == "done"
    assert team.run(import_id) == "skipped"
    with team.schema():
        assert Task.objects.filter(project=team.web).count() == 3
        assert sweep.imports_sweep(now=timezone.now() + timedelta(days=1)) == {
            "imports_expired": 0,
            "imports_redispatched": 0,
            "imports_failed": 0,
        }
        assert sweep.imports_next_due(now=timezone.now()) is None  # nothing left: no mark to keep


@pytest.mark.django_db
@override_settings(TESSERA_IMPORT_REDISPATCH_MINUTES=10)
def test_a_run_in_progress_is_neither_doubled_nor_resent(team, monkeypatch):
    sent = _sent(monkeypatch)
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    _start(team, import_id)
    schema = team.organization.schema_name
    holding, release = threading.Event(), threading.Event()

    def live_worker():  # another process's run: its own connection holds the lock
        from django_tenants.utils import schema_context

        try:
            with schema_context(schema), import_run_lock(import_id) as got:
                assert got
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=live_worker)
    thread.start()
    try:
        assert holding.wait(30)
        assert team.run(import_id) == "skipped"
        with team.schema():
            assert sweep.imports_sweep(now=timezone.now() + timedelta(minutes=30))["imports_redispatched"] == 0
            assert TaskImport.objects.get(pk=import_id).status == "queued"
        assert sent == []
    finally:
        release.set()
        thread.join(30)
    assert team.run(import_id) == "done"


@pytest.mark.django_db
@override_settings(TESSERA_IMPORT_REDISPATCH_MINUTES=10, TESSERA_IMPORT_MAX_ATTEMPTS=3)
def test_a_running_import_whose_worker_died_is_resent_then_failed_after_max_attempts(team, monkeypatch):
    sent = _sent(monkeypatch)
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    _start(team, import_id)
    with team.schema():
        # A worker took it (attempt 1) and died: running, no lock held, no progress since.
        TaskImport.objects.filter(pk=import_id).update(status="running", attempts=1)
        assert sweep.imports_sweep(now=timezone.now() + timedelta(minutes=11))["imports_redispatched"] == 1
        assert len(sent) == 1
        TaskImport.objects.filter(pk=import_id).update(attempts=3)
        counts = sweep.imports_sweep(now=timezone.now() + timedelta(minutes=30))
        assert (counts["imports_redispatched"], counts["imports_failed"]) == (0, 1)
        failed = TaskImport.objects.get(pk=import_id)
        assert failed.status == "failed"
        assert "started 3 times" in failed.failure_reason
        assert Task.objects.count() == 0
    assert team.run(import_id) == "skipped"


@pytest.mark.django_db
@override_settings(TESSERA_IMPORT_UPLOAD_TTL_HOURS=1)
def test_the_periodic_sweep_runs_the_imports_sweep_in_marked_organisations_only(team, org_b, monkeypatch):
    _sent(monkeypatch)
    PendingWork.objects.all().delete()
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    assert _mark(org_b.schema_name) is None
    totals = periodic.periodic_sweep(now=timezone.now() + timedelta(hours=2))
    assert totals["organizations"] == 1  # alpha only
    assert totals["imports_expired"] == 1
    with team.schema():
        assert TaskImport.objects.get(pk=import_id).status == "failed"
    assert _mark(team.organization.schema_name) is None  # nothing due any more
