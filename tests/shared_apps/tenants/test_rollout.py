"""migrate_tenants rolling a real migration (a column, then its index CONCURRENTLY) out
to several schemas: resuming after a failure in schema N, lock_timeout and retry, an
INVALID index left by a failed build recovered, progress output. Committed mode: locks,
concurrent builds and other sessions need real transactions."""

import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from psycopg2 import sql

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Organization
from shared_apps.tenants.services import organization_create
from tests.shared_apps.tenants import rollout_failures

PROBE = ["0900_rollout_probe_column", "0901_rollout_probe_index"]


@pytest.fixture
def probe_migrations(committed, settings):
    """The test migrations in the tasks app's graph; afterwards taken out of every schema."""
    settings.MIGRATION_MODULES = {"tasks": "tests.shared_apps.tenants.rollout_migrations"}
    rollout_failures.FAIL_IN.clear()
    yield
    rollout_failures.FAIL_IN.clear()
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for schema in Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE app = 'tasks' AND name = ANY(%s)").format(
                    sql.Identifier(schema, "django_migrations")
                ),
                [PROBE],
            )
            cursor.execute(
                sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS rollout_probe").format(
                    sql.Identifier(schema, "tasks_task")
                )
            )


@pytest.fixture
def org_a(probe_migrations):
    """The session organisations, read without the `db` fixture's wrapping transaction
    (the rollout must commit as it does in production)."""
    return Organization.objects.get(slug="alpha")


@pytest.fixture
def org_b(probe_migrations):
    return Organization.objects.get(slug="bravo")


@pytest.fixture
def three_orgs(committed):
    """Alpha, Bravo and a third organisation created before the test migrations exist."""
    owner = User.objects.create_user(email="owner@charlie.test")
    organization_create(slug="charlie", name="Charlie", owner=owner)
    return list(Organization.objects.filter(slug__in=["alpha", "bravo", "charlie"]).order_by("pk"))


def _applied(schema: str) -> dict[str, object]:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT name, applied FROM {} WHERE app = 'tasks' AND name = ANY(%s)").format(
                sql.Identifier(schema, "django_migrations")
            ),
            [PROBE],
        )
        return dict(cursor.fetchall())


def _has_column(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = 'tasks_task' "
            "AND column_name = 'rollout_probe'",
            [schema],
        )
        return cursor.fetchone() is not None


def _index_valid(schema: str) -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            [schema, "tasks_task_rollout_probe"],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def test_rollout_resumes_from_the_failed_schema_and_leaves_migrated_ones_untouched(three_orgs, probe_migrations):
    first, second, third = (org.schema_name for org in three_orgs)
    rollout_failures.FAIL_IN.add(second)
    out = StringIO()

    with pytest.raises(CommandError, match=f"{second} failed .*injected failure"):
        call_command("migrate_tenants", stdout=out)

    assert f"[failed] {second}: tasks.0900_rollout_probe_column: injected failure" in out.getvalue()
    assert set(_applied(first)) == set(PROBE)
    assert _has_column(first)
    assert _index_valid(first)
    # The failed schema's atomic migration rolled back whole; the next was never started.
    for schema in (second, third):
        assert _applied(schema) == {}
        assert not _has_column(schema)
        assert _index_valid(schema) is None
    before = _applied(first)

    rollout_failures.FAIL_IN.clear()
    out = StringIO()
    call_command("migrate_tenants", "--processes", "2", stdout=out)

    lines = out.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert any(line.startswith("[1/") and (second in line or third in line) for line in progress), lines
    assert first not in out.getvalue()  # not even looked at
    assert _applied(first) == before
    for schema in (second, third):
        assert set(_applied(schema)) == set(PROBE)
        assert _index_valid(schema) is True
    assert any("per schema: median" in line for line in lines)
    assert any(line.startswith("migrate_tenants: ") and "schema(s) migrated" in line for line in lines)


def _hold_lock(schema: str, seconds: float, ready: threading.Event, release: threading.Event | None = None) -> None:
    """Another session reading the schema's tasks (ACCESS SHARE lock held) for `seconds`,
    or until `release` is set."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(schema, "tasks_task")))
            ready.set()
            if release is None:
                time.sleep(seconds)
            else:
                release.wait(seconds)
            cursor.execute("COMMIT")
    finally:
        other.close()


def test_rollout_alter_gives_up_under_lock_timeout_and_retries_while_writers_pass(probe_migrations, org_a, org_b):
    ready = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(org_a.schema_name, 4.0, ready))
    holder.start()
    ready.wait(5)
    stalls = []

    def write_meanwhile():
        # A writer in the held schema while the rollout's ALTER waits: it queues behind
        # the ALTER's lock request, so for no longer than the lock timeout.
        other = connections.create_connection("default")
        update = sql.SQL("UPDATE {} SET priority = priority WHERE false").format(
            sql.Identifier(org_a.schema_name, "tasks_task")
        )
        with other.cursor() as cursor:
            for _ in range(40):
                began = time.perf_counter()
                cursor.execute(update)
                other.commit()
                stalls.append(time.perf_counter() - began)
                time.sleep(0.05)
        other.close()

    writer = threading.Thread(target=write_meanwhile)
    writer.start()
    out = StringIO()
    started = time.perf_counter()
    call_command("migrate_tenants", "--lock-timeout", "100", "--lock-retries", "10", stdout=out)
    writer.join()
    holder.join()

    retry = f"[retry 1/10] {org_a.schema_name}: tasks.0900_rollout_probe_column: canceling statement due to lock"
    assert retry in out.getvalue()
    assert time.perf_counter() - started >= 1.0
    for schema in (org_a.schema_name, org_b.schema_name):
        assert set(_applied(schema)) == set(PROBE)
        assert _index_valid(schema) is True
    assert max(stalls) < 1.0, stalls


def test_rollout_fails_the_schema_when_its_lock_never_comes(probe_migrations, org_a, org_b):
    ready, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(org_a.schema_name, 60, ready, release))
    holder.start()
    ready.wait(5)
    out = StringIO()

    try:
        with pytest.raises(CommandError, match=f"{org_a.schema_name} failed .*lock timeout"):
            call_command("migrate_tenants", "--lock-timeout", "100", "--lock-retries", "0", stdout=out)
    finally:
        release.set()
        holder.join()

    assert _applied(org_a.schema_name) == {}
    assert not _has_column(org_a.schema_name)


def test_rollout_recovers_an_invalid_index_left_by_a_failed_concurrent_build(probe_migrations, org_a, settings):
    settings.TESSERA_PLAIN_INDEX_MAX_BYTES = 0  # every table "large": built CONCURRENTLY
    schema = org_a.schema_name
    # An old snapshot open elsewhere makes the concurrent build wait; cancelling it then
    # leaves the INVALID index a failed build leaves in production.
    snapshot = connections.create_connection("default")
    with snapshot.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT count(*) FROM public.tenants_organization")
    errors = []

    def run():
        try:
            call_command("migrate_tenants", "-s", schema, stdout=StringIO())
        except CommandError as exc:
            errors.append(str(exc))
        finally:
            connections.close_all()

    runner = threading.Thread(target=run)
    runner.start()
    watcher = connections.create_connection("default")
    with watcher.cursor() as cursor:
        for _ in range(200):
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%%' "
                "AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row:
                cursor.execute("SELECT pg_cancel_backend(%s)", [row[0]])
                break
            time.sleep(0.05)
        else:
            pytest.fail("the concurrent build never waited")
    runner.join()
    snapshot.close()
    watcher.close()

    assert errors
    assert "canceling statement due to user request" in errors[0]
    assert _index_valid(schema) is False
    assert set(_applied(schema)) == {"0900_rollout_probe_column"}

    out = StringIO()
    call_command("migrate_tenants", "-s", schema, stdout=out)

    assert _index_valid(schema) is True
    assert set(_applied(schema)) == set(PROBE)
    assert "INVALID" not in out.getvalue()


def _old_snapshot():
    """A session holding a snapshot open since before the rollout (a long report in
    another organisation): a CONCURRENTLY build anywhere in the database waits for it."""
    snapshot = connections.create_connection("default")
    with snapshot.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT count(*) FROM public.tenants_organization")
    return snapshot


def _rollout_in_thread(*args: str) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run():
        try:
            call_command("migrate_tenants", *args, stdout=StringIO())
        finally:
            done.set()
            connections.close_all()

    runner = threading.Thread(target=run)
    runner.start()
    return runner, done


def test_small_tables_get_a_plain_index_that_waits_for_no_other_transaction(probe_migrations, org_a, org_b):
    snapshot = _old_snapshot()
    try:
        runner, done = _rollout_in_thread("--lock-timeout", "500")
        finished = done.wait(20)  # a concurrent build would wait for the snapshot until it closed
    finally:
        snapshot.close()
        runner.join(30)
    assert finished
    for schema in (org_a.schema_name, org_b.schema_name):
        assert set(_applied(schema)) == set(PROBE)
        assert _index_valid(schema) is True


def test_large_tables_get_a_concurrent_index_that_waits_for_older_transactions(probe_migrations, org_a, settings):
    settings.TESSERA_PLAIN_INDEX_MAX_BYTES = 0
    snapshot = _old_snapshot()
    runner, done = _rollout_in_thread("-s", org_a.schema_name)
    assert not done.wait(1.5)  # waiting for the snapshot, writers unblocked (the tests above)
    snapshot.close()
    runner.join(30)
    assert done.is_set()
    assert _index_valid(org_a.schema_name) is True


def test_a_plain_index_gives_up_under_lock_timeout_and_is_retried(probe_migrations, org_a):
    schema = org_a.schema_name
    # As after a rollout that stopped between the column and its index.
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN rollout_probe timestamptz NULL").format(
                sql.Identifier(schema, "tasks_task")
            )
        )
        cursor.execute(
            sql.SQL("INSERT INTO {} (app, name, applied) VALUES ('tasks', %s, now())").format(
                sql.Identifier(schema, "django_migrations")
            ),
            [PROBE[0]],
        )
    ready = threading.Event()

    def hold_writer_lock():  # an open write transaction on the table: a plain build must wait for it
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(sql.Identifier(schema, "tasks_task"))
                )
                ready.set()
                time.sleep(1.5)
                cursor.execute("COMMIT")
        finally:
            other.close()

    holder = threading.Thread(target=hold_writer_lock)
    holder.start()
    ready.wait(5)
    out = StringIO()
    call_command("migrate_tenants", "-s", schema, "--lock-timeout", "100", "--lock-retries", "10", stdout=out)
    holder.join()

    assert f"[retry 1/10] {schema}: tasks.0901_rollout_probe_index: canceling statement due to lock" in out.getvalue()
    assert set(_applied(schema)) == set(PROBE)
    assert _index_valid(schema) is True


def test_forked_workers_skip_kombus_after_fork_hook_and_the_parent_keeps_it():
    # kombu's hook closes the parent's broker connections in the child, which can hang
    # the child for ever on a socket the parent shares (a rollout after Celery was used).
    import multiprocessing.util

    from config.celery import app
    from shared_apps.tenants.rollout import _fork_without_broker_cleanup

    app.pool  # noqa: B018 (creates the pool, which registers the hook)

    def kombu_hooks():
        return [key for key in multiprocessing.util._afterfork_registry if key[2].__module__.startswith("kombu")]

    before = kombu_hooks()
    assert before
    with _fork_without_broker_cleanup():
        assert kombu_hooks() == []
    assert kombu_hooks() == before
