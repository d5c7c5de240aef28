"""Generation failures, claims, progress, and the sweep (lost messages, dead workers,
expiry)."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.tenants.models import OrgRole
from tenant_apps.members.models import Member
from tenant_apps.reports import writers
from tenant_apps.reports.kinds import KINDS
from tenant_apps.reports.models import Report
from tenant_apps.reports.services import generation, sweep
from tenant_apps.reports.services.generation import INTERNAL_ERROR, report_generate
from tenant_apps.reports.services.requests import report_request
from tenant_apps.reports.services.sweep import reports_sweep
from tenant_apps.reports.tasks import report_generate_task, reports_sweep_task
from tenant_apps.tasks.attachments import storage
from tests.tenant_apps.reports.conftest import PERIOD


def _request(world, who: str = "dev", format: str = "csv", **params) -> Report:
    report, _created = report_request(
        actor=world.members[who],
        kind="completed_tasks",
        format=format,
        params=params or PERIOD,
        time_zone="Europe/Berlin",
    )
    return report


@pytest.mark.django_db
def test_report_kinds_match_the_model_choices():
    assert set(KINDS) == set(Report.Kind.values)


@pytest.mark.django_db
def test_an_unexpected_error_ends_as_failed_with_a_reason(world, monkeypatch):
    def broken(scope):
        raise RuntimeError("database on fire")

    monkeypatch.setitem(KINDS, "completed_tasks", KINDS["completed_tasks"].__class__(
        **{**KINDS["completed_tasks"].__dict__, "build": broken}
    ))  # fmt: skip
    with world.schema():
        report = _request(world)
        assert report_generate(report_id=report.pk) == "failed"
        report.refresh_from_db()
    assert report.status == "failed"
    assert report.failure_reason == INTERNAL_ERROR
    assert "fire" not in report.failure_reason  # internals stay in the log
    assert report.finished_at is not None


@pytest.mark.django_db
def test_a_writer_crash_mid_file_fails_and_leaves_no_file(world, monkeypatch):
    def crash(out, data, meta, on_progress):
        out.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setitem(writers.WRITERS, "csv", crash)
    with world.schema():
        report = _request(world)
        assert report_generate(report_id=report.pk) == "failed"
        report.refresh_from_db()
    assert (report.status, report.storage_key) == ("failed", "")
    assert report.failure_reason == INTERNAL_ERROR
    stored = Path(settings.MEDIA_ROOT) / world.organization.schema_name / "reports"
    assert not stored.exists() or not any(stored.iterdir())


@pytest.mark.django_db
def test_a_project_deleted_before_generation_fails_readably(world):
    with world.schema():
        report = _request(world, "owner", project="WEB", **PERIOD)
        world.web.delete()
        assert report_generate(report_id=report.pk) == "failed"
        report.refresh_from_db()
    assert report.failure_reason == "Project WEB no longer exists or you may no longer report on it."


@pytest.mark.django_db
def test_a_report_is_generated_once_whatever_the_messages(world):
    with world.schema():
        report = _request(world)
        assert report_generate(report_id=report.pk) == "done"
        # A duplicate message (the sweep re-sent it, the broker redelivered it) is a no-op.
        assert report_generate(report_id=report.pk) == "skipped"
        assert Report.objects.get(pk=report.pk).attempts == 1


@pytest.mark.django_db
def test_a_running_report_with_a_live_worker_is_not_taken_over(world):
    with world.schema():
        report = _request(world)
        Report.objects.filter(pk=report.pk).update(status="running", heartbeat_at=timezone.now(), attempts=1)
        assert report_generate(report_id=report.pk) == "skipped"
        # Its worker died (no heartbeat for longer than the stale limit): a redelivered
        # message takes it over.
        Report.objects.filter(pk=report.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert report_generate(report_id=report.pk) == "done"
        assert Report.objects.get(pk=report.pk).attempts == 2


@pytest.mark.django_db
def test_a_report_deleted_while_generating_stops_and_keeps_no_file(world, monkeypatch):
    with world.schema():
        report = _request(world)
        real_csv = writers.WRITERS["csv"]

        def delete_then_write(out, data, meta, on_progress):
            Report.objects.filter(pk=report.pk).delete()
            return real_csv(out, data, meta, on_progress)

        monkeypatch.setitem(writers.WRITERS, "csv", delete_then_write)
        assert report_generate(report_id=report.pk) == "cancelled"
        assert not Report.objects.filter(pk=report.pk).exists()


def test_progress_is_reported_at_most_once_a_second(monkeypatch):
    clock = iter([0.0, 0.2, 0.5, 1.0, 1.1, 1.9, 2.0, 2.05, 5.0, 5.5])
    monkeypatch.setattr(writers, "_clock", lambda: next(clock))
    calls: list[int] = []

    rows = list(writers._throttled(iter(range(9)), calls.append))

    assert rows == list(range(9))
    # Rows 3 (t=1.0), 6 (t=2.0) and 8 (t=5.0): never twice within a second.
    assert calls == [3, 6, 8]


@pytest.mark.django_db
def test_progress_is_stored_while_rows_stream(world, monkeypatch):
    seen: list[tuple[str, int]] = []
    real_throttled = writers._throttled

    def every_row(rows, on_progress):
        for count, row in enumerate(real_throttled(rows, lambda _count: None), start=1):
            on_progress(count)
            seen.append(tuple(Report.objects.filter(pk=report.pk).values_list("status", "progress").get()))
            yield row

    monkeypatch.setattr(writers, "_throttled", every_row)
    with world.schema():
        # JSON: rows written by Python, progress stored by this thread (CSV and XLSX of
        # this kind are written by COPY: see the next test).
        report = _request(world, "owner", format="json")
        report_generate(report_id=report.pk)
        report.refresh_from_db()
    # Three rows: 33% and 66% while running (never 100 before the file is stored), then done.
    assert seen == [("running", 33), ("running", 66), ("running", 99)]
    assert (report.status, report.progress) == ("done", 100)


@pytest.mark.django_db
def test_task_arguments_round_trip_through_json(world):
    with world.schema():
        report = _request(world)
        (report_id,) = json.loads(json.dumps([report.pk]))
        assert report_generate_task.run(report_id) == "done"


# --- Sweep ------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Records the reports the sweep sends to the broker (the broker is up)."""
    calls: list[int] = []
    monkeypatch.setattr(sweep, "_send", lambda report_id: calls.append(report_id) or True)
    return calls


@pytest.mark.django_db
def test_sweep_resends_queued_reports_whose_message_may_be_lost(world, sent):
    now = timezone.now()
    with world.schema():
        fresh = _request(world)
        lost = _request(world, format="json")
        Report.objects.filter(pk=lost.pk).update(dispatched_at=now - timedelta(minutes=10))

        counts = reports_sweep(now=now)

        assert sent == [lost.pk]
        assert counts["redispatched"] == 1
        assert Report.objects.get(pk=lost.pk).dispatched_at == now
        assert Report.objects.get(pk=fresh.pk).status == "queued"


@pytest.mark.django_db
def test_sweep_keeps_a_report_queued_while_the_broker_is_down(world, monkeypatch):
    monkeypatch.setattr(sweep, "_send", lambda report_id: False)
    old = timezone.now() - timedelta(minutes=10)
    with world.schema():
        report = _request(world)
        Report.objects.filter(pk=report.pk).update(dispatched_at=old)

        assert reports_sweep()["redispatched"] == 0
        report.refresh_from_db()
    assert (report.status, report.dispatched_at) == ("queued", old)


@pytest.mark.django_db
def test_sweep_requeues_a_report_whose_worker_died_then_gives_up(world, sent):
    now = timezone.now()
    dead = now - timedelta(hours=1)
    with world.schema():
        report = _request(world)
        Report.objects.filter(pk=report.pk).update(status="running", heartbeat_at=dead, attempts=1, progress=40)

        assert reports_sweep(now=now)["requeued"] == 1
        assert sent == [report.pk]
        assert Report.objects.values_list("status", "progress").get(pk=report.pk) == ("queued", 0)

        with override_settings(TESSERA_REPORT_MAX_ATTEMPTS=3):
            Report.objects.filter(pk=report.pk).update(status="running", heartbeat_at=dead, attempts=3)
            assert reports_sweep(now=now)["failed"] == 1
        report.refresh_from_db()
    assert report.status == "failed"
    assert "started 3 times" in report.failure_reason


@pytest.mark.django_db
def test_sweep_leaves_live_running_reports_alone(world, sent):
    with world.schema():
        report = _request(world)
        Report.objects.filter(pk=report.pk).update(status="running", heartbeat_at=timezone.now(), attempts=1)
        assert reports_sweep() == {"requeued": 0, "failed": 0, "redispatched": 0, "expired": 0}
        assert Report.objects.get(pk=report.pk).status == "running"


@pytest.mark.django_db
def test_sweep_deletes_expired_reports_and_their_files(world, sent, django_capture_on_commit_callbacks):
    now = timezone.now()
    with world.schema():
        expired = _request(world)
        report_generate(report_id=expired.pk)
        expired.refresh_from_db()
        kept = _request(world, format="json")
        report_generate(report_id=kept.pk)
        Report.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(seconds=1))

        with django_capture_on_commit_callbacks(execute=True):
            counts = reports_sweep(now=now)

        assert counts["expired"] == 1
        assert list(Report.objects.values_list("pk", flat=True)) == [kept.pk]
        assert not storage().exists(expired.storage_key)
        assert storage().exists(Report.objects.get(pk=kept.pk).storage_key)


@pytest.mark.django_db
@override_settings(TESSERA_REPORT_RETENTION_DAYS=2)
def test_retention_is_counted_from_completion(world):
    with world.schema():
        report = _request(world)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
    assert report.expires_at - report.finished_at == timedelta(days=2)


@pytest.mark.django_db
def test_the_sweep_task_visits_every_organisation(world, org_b, sent):
    past = timezone.now() - timedelta(seconds=1)
    with world.schema():
        Report.objects.filter(pk=_request(world).pk).update(expires_at=past)
    bravo_owner = org_b.memberships.get(role=OrgRole.OWNER).user
    with schema_context(org_b.schema_name):
        member = Member.objects.get(user_id=bravo_owner.pk)
        Report.objects.create(
            requested_by=member, kind="workload", format="csv", params={}, params_digest="x", expires_at=past
        )

    assert reports_sweep_task.run()["expired"] == 2
    with world.schema():
        assert not Report.objects.exists()
    with schema_context(org_b.schema_name):
        assert not Report.objects.exists()


@pytest.mark.django_db
def test_report_scope_agrees_with_the_permission_service_for_every_code(world):
    from tenant_apps.projects.permissions import project_permissions
    from tenant_apps.projects.registry import ALL_CODES
    from tenant_apps.projects.selectors import projects_where_member_may

    with world.schema():
        for name, member in world.members.items():
            for code in sorted(ALL_CODES):
                granted = set(projects_where_member_may(member, code).values_list("key", flat=True))
                expected = {
                    project.key
                    for project in (world.web, world.ops)
                    if code in project_permissions(member=member, project=project)
                }
                assert granted == expected, (name, code)


@pytest.mark.django_db
def test_a_run_the_sweep_handed_to_another_worker_cannot_finish_it(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    """A run slow enough to look dead is re-claimed (attempts moves on): the first run
    stops at its next heartbeat or at the finish, and leaves no file."""
    with world.schema():
        report = _request(world)
        real_csv = writers.WRITERS["csv"]

        def reclaimed_then_write(out, data, meta, on_progress):
            Report.objects.filter(pk=report.pk).update(attempts=2)  # the sweep gave it to another run
            return real_csv(out, data, meta, lambda rows: None)  # no heartbeat until the end

        monkeypatch.setitem(writers.WRITERS, "csv", reclaimed_then_write)
        with django_capture_on_commit_callbacks(execute=True):
            assert report_generate(report_id=report.pk) == "cancelled"
        current = Report.objects.get(pk=report.pk)
        assert (current.status, current.attempts, current.storage_key) == ("running", 2, "")
    assert not list(Path(settings.MEDIA_ROOT).rglob("reports/*"))


@pytest.mark.django_db
def test_a_request_is_audited_in_its_transaction_and_a_repeat_is_not(world):
    from shared_apps.audit.models import AuditEntry

    with world.schema():
        report = _request(world)
        again = _request(world)  # the same request while queued: the same report, no entry
        (entry,) = AuditEntry.objects.filter(action="report.requested")

    assert again.pk == report.pk
    assert (entry.actor_user_id, entry.target_id) == (world.users["dev"].pk, str(report.pk))
    assert entry.after == {"kind": "completed_tasks", "format": "csv", "params": report.params}


@pytest.mark.django_db
def test_rows_written_by_copy_report_progress_and_hand_it_to_the_heartbeat_thread(world, monkeypatch):
    handed: list[int] = []

    def every_row(on_progress):
        count = 0

        def row_written():
            nonlocal count
            count += 1
            on_progress(count)

        return row_written

    monkeypatch.setattr(writers, "_progress_counter", every_row)
    monkeypatch.setattr(generation._HeartbeatThread, "progress_hand_over", lambda _self, value: handed.append(value))
    for report_format in ("csv", "xlsx"):
        handed.clear()
        with world.schema():
            report = _request(world, "owner", format=report_format)
            assert report_generate(report_id=report.pk) == "done"
            report.refresh_from_db()
        # Three rows: 33% and 66% while running (never 100 before the file is stored).
        assert handed == [33, 66, 99], report_format
        assert (report.status, report.progress, report.row_count) == ("done", 100, 3)
