"""Applying pending tenant migrations to many schemas: what `migrate_tenants` runs
(docs/operations.md, "Rolling a migration out to thousands of organisations").

django-tenants runs Django's whole `migrate` command in each schema: a migration loader,
its graph and the project state rebuilt from every migration, per schema (about 0.3 s of
CPU each here before any DDL). Schemas that are behind in the same way need the same
plan and the same starting state, so this module works them out once per group of
identically-migrated schemas and then, in each schema, only applies the plan:

- **once per group:** the loader and graph (read in one schema of the group), the plan,
  the `pre_migrate` signal (whose receivers adjust the plan, as in one `migrate` run),
  and the project state before and after every operation of the plan, rendered (for a
  plan of up to `PRECOMPUTED_OPERATIONS` operations — a release's migrations; a schema
  far behind, such as a new one, gets Django's executor with its own state instead);
- **per schema:** an advisory lock (two rollouts never migrate one schema at once), a
  check that the schema is still where its group is, `SET lock_timeout`, each
  operation's `database_forwards` with the precomputed states inside the migration's
  own schema editor (atomic or not, as `Migration.apply` does), the migration recorded
  in the schema's `django_migrations`, and `post_migrate` when the plan creates, renames
  or deletes a model (content types; a plan of field and index changes changes none).

Measured on 1,000 organisations (docs/benchmarks.md): re-rendering the state in every
schema cost more than the DDL, and so did Django's check that `django_migrations` exists
(an introspection of every table on the search path, before each record).

Locks. An atomic migration holds its locks until it commits, so an `ALTER TABLE` waiting
behind a long-running reader would queue every writer of that table behind it. Under
`lock_timeout` it gives up instead; the migration rolls back whole and the schema goes
back in the queue (after a short pause, up to `lock_retries` times) while the others
proceed. So does a non-atomic migration whose operations are all idempotent, such as an
index built plainly on a small table under lock_timeout; a CONCURRENTLY build (large
tables) ignores lock_timeout: it never blocks writers
(shared_apps/core/migration_operations.py).

Failures. The first schema that fails stops the dispatch of new schemas (those already
running finish); what succeeded is recorded in each schema's `django_migrations` as
usual, so running the command again continues with the schemas still behind — from the
one that failed — and never touches the migrated ones.

Parallel: `processes` > 1 forks that many workers after the group work is done (they
inherit it) and feeds them schemas one at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing.util
import statistics
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context

from django.apps import apps as global_apps
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ModelState

from shared_apps.tenants.migration_state import applied_migrations_by_schema

# SQLSTATEs after which an atomic migration has rolled back whole and may simply run again.
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"
RETRYABLE = {LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED}
# Plans up to this many operations get their states computed once for the whole group.
PRECOMPUTED_OPERATIONS = 50
MODEL_OPERATIONS = ("CreateModel", "DeleteModel", "RenameModel")


@dataclass
class Group:
    """Schemas with the same applied migrations, and what they all need."""

    applied: frozenset
    schemas: list[str]
    plan: list = field(default_factory=list)
    pre_state: object = None
    post_apps: object = None
    loader: object = None
    # (migration key) -> [(operation, from_state, to_state)], when precomputed
    steps: dict | None = None
    models_change: bool = True


@dataclass
class SchemaResult:
    schema: str
    seconds: float = 0.0
    applied: list[str] = field(default_factory=list)
    error: str = ""
    retryable: bool = False
    done: int = 0  # migrations of the plan applied (the rest is what a retry runs)
    invalid_indexes: list[str] = field(default_factory=list)


@dataclass
class RolloutReport:
    results: list[SchemaResult] = field(default_factory=list)
    retries: int = 0
    failed: SchemaResult | None = None
    seconds: float = 0.0

    @property
    def migrated(self) -> list[SchemaResult]:
        return [result for result in self.results if not result.error]


# Set in the parent before the workers fork; the workers read them.
_GROUPS: dict[str, Group] = {}
_OPTIONS: dict = {}


class _KnownTableRecorder(MigrationRecorder):
    """A recorder for a schema whose `django_migrations` was just checked to exist."""

    def ensure_schema(self) -> None:
        return None


class _GroupExecutor(MigrationExecutor):
    """Django's executor on an already-built loader (building one per schema is the cost
    this module avoids)."""

    def __init__(self, loader, db_connection) -> None:
        self.connection = db_connection
        self.loader = loader
        self.recorder = _KnownTableRecorder(db_connection)
        self.progress_callback = None

    def apply_precomputed(self, migration, steps) -> None:
        """`apply_migration` with each operation's states given (Migration.apply without
        the state work)."""
        recorded = False
        with self.connection.schema_editor(atomic=migration.atomic) as schema_editor:
            for operation, from_state, to_state in steps:
                atomic_operation = operation.atomic or (migration.atomic and operation.atomic is not False)
                if not schema_editor.atomic_migration and atomic_operation:
                    with transaction.atomic(schema_editor.connection.alias):
                        operation.database_forwards(migration.app_label, schema_editor, from_state, to_state)
                else:
                    operation.database_forwards(migration.app_label, schema_editor, from_state, to_state)
            if not schema_editor.deferred_sql:
                self.record_migration(migration)
                recorded = True
        if not recorded:
            self.record_migration(migration)


def _group_prepare(group: Group, *, database: str, verbosity: int) -> None:
    db_connection = connections[database]
    db_connection.set_schema(group.schemas[0])
    executor = MigrationExecutor(db_connection)
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    if any(backwards for _migration, backwards in plan):
        raise RuntimeError(f"{group.schemas[0]}: the plan would unapply migrations; run migrate_schemas for it")
    pre_state = executor._create_project_state(with_applied_migrations=True)
    pre_state.apps  # noqa: B018 - render once here, not in every schema
    emit_pre_migrate_signal(verbosity, False, database, apps=pre_state.apps, plan=plan)
    group.plan = [migration for migration, _backwards in plan]
    operations = [(migration, operation) for migration in group.plan for operation in migration.operations]
    group.models_change = any(type(operation).__name__ in MODEL_OPERATIONS for _m, operation in operations)
    if group.models_change:
        post_state = pre_state.clone()
        for migration, _backwards in plan:
            post_state = migration.mutate_state(post_state, preserve=False)
        # As Django's migrate: real apps re-rendered with their relations for post_migrate.
        post_state.clear_delayed_apps_cache()
        post_apps = post_state.apps
        with post_apps.bulk_update():
            keys = []
            for model_state in post_apps.real_models:
                keys.append((model_state.app_label, model_state.name_lower))
                post_apps.unregister_model(*keys[-1])
        post_apps.render_multiple([ModelState.from_model(global_apps.get_model(*key)) for key in keys])
        group.post_apps = post_apps
    if len(operations) <= PRECOMPUTED_OPERATIONS:
        group.steps = {}
        state = pre_state
        for migration in group.plan:
            steps = []
            for operation in migration.operations:
                after = state.clone()
                operation.state_forwards(migration.app_label, after)
                after.apps  # noqa: B018 - rendered here, once
                steps.append((operation, state, after))
                state = after
            group.steps[migration.app_label, migration.name] = steps
    group.pre_state = pre_state
    group.loader = executor.loader
    db_connection.set_schema_to_public()


def groups_build(schemas: list[str], *, database: str = "default", verbosity: int = 1) -> dict[str, Group]:
    """The schemas grouped by their applied migrations, each group prepared; returns the
    group of each schema."""
    by_applied: dict[frozenset, Group] = {}
    for schema, applied in applied_migrations_by_schema(schemas).items():
        by_applied.setdefault(applied, Group(applied=applied, schemas=[])).schemas.append(schema)
    for group in by_applied.values():
        _group_prepare(group, database=database, verbosity=verbosity)
    return {schema: group for group in by_applied.values() for schema in group.schemas}


def _advisory_key(schema: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"migrate_tenants:{schema}".encode(), digest_size=8).digest(), "big", signed=True
    )


def _pgcode(exc: BaseException) -> str | None:
    while exc is not None:
        code = getattr(exc, "pgcode", None)
        if code:
            return code
        exc = exc.__cause__
    return None


def _retry_safe(migration) -> bool:
    """Whether a migration that failed on a lock may simply run again: an atomic one
    rolled back whole; a non-atomic one only if each of its operations is idempotent
    (shared_apps/core/migration_operations.py: an index built by size)."""
    return migration.atomic or all(getattr(operation, "idempotent", False) for operation in migration.operations)


def schema_migrate(schema: str, start: int = 0) -> SchemaResult:
    """Apply its group's plan (from migration `start`) to one schema."""
    group = _GROUPS[schema]
    database = _OPTIONS.get("database", "default")
    db_connection = connections[database]
    result = SchemaResult(schema=schema, done=start)
    started = time.perf_counter()
    key = _advisory_key(schema)
    db_connection.set_schema_to_public()
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            result.error = "another migrate_tenants is migrating this schema"
            return result
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(format('%%I.django_migrations', %s::text))", [schema])
            has_table = cursor.fetchone()[0] is not None
        if not has_table:
            # As django-tenants: the schema's own django_migrations, never public's.
            db_connection.set_schema(schema, include_public=False)
            MigrationRecorder(db_connection).ensure_schema()
        db_connection.set_schema(schema)
        applied = applied_migrations_by_schema([schema]).get(schema, frozenset())
        expected = group.applied | {(migration.app_label, migration.name) for migration in group.plan[:start]}
        if applied != expected:
            result.error = "its migrations changed since the rollout started; run migrate_tenants again"
            return result
        executor = _GroupExecutor(group.loader, db_connection)
        state = None
        if group.steps is None:
            state = group.pre_state.clone()
            for migration in group.plan[:start]:
                state = migration.mutate_state(state, preserve=False)
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{_OPTIONS.get('lock_timeout', 0)}ms"])
        for migration in group.plan[start:]:
            try:
                if group.steps is None:
                    state = executor.apply_migration(state, migration)
                else:
                    executor.apply_precomputed(migration, group.steps[migration.app_label, migration.name])
            except Exception as exc:
                result.error = f"{migration.app_label}.{migration.name}: {str(exc).strip().splitlines()[0]}"
                result.retryable = _retry_safe(migration) and _pgcode(exc) in RETRYABLE
                return result
            result.done += 1
            result.applied.append(f"{migration.app_label}.{migration.name}")
        if group.models_change:
            emit_post_migrate_signal(0, False, database, apps=group.post_apps, plan=[(m, False) for m in group.plan])
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace"
            )
            result.invalid_indexes = [row[0] for row in cursor.fetchall()]
        return result
    finally:
        result.seconds = time.perf_counter() - started
        with contextlib.suppress(DatabaseError), db_connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        db_connection.set_schema_to_public()


def _worker_init() -> None:
    # The parent closed its connections before forking; each worker opens its own.
    for alias in connections:
        connections[alias].connection = None


@contextlib.contextmanager
def _fork_without_broker_cleanup():
    """Fork workers without kombu's after-fork hook. The hook closes the parent's pooled
    broker connections in the child, and a channel the parent left waiting on a BRPOP
    makes the child read the socket it shares with the parent, forever (seen: a pytest
    process that had run Celery tests hung in the first rollout with --processes 2). The
    workers never touch the broker, so the parent's connections are simply left alone."""
    registry = multiprocessing.util._afterfork_registry
    skipped = {
        key: registry[key]
        for key in list(registry)
        if getattr(key[2], "__module__", "").startswith("kombu") and key in registry
    }
    for key in skipped:
        registry.pop(key, None)
    try:
        yield
    finally:
        registry.update(skipped)


def rollout(
    schemas: list[str],
    *,
    processes: int = 1,
    lock_timeout_ms: int = 500,
    lock_retries: int = 10,
    retry_pause: float = 0.5,
    database: str = "default",
    verbosity: int = 1,
    write: Callable[[str], None] = print,
) -> RolloutReport:
    """Migrate `schemas` (all behind) in order; stop dispatching at the first failure."""
    report = RolloutReport()
    started = time.perf_counter()
    _OPTIONS.update(database=database, lock_timeout=lock_timeout_ms)
    _GROUPS.clear()
    _GROUPS.update(groups_build(schemas, database=database, verbosity=verbosity))
    if verbosity >= 1:
        groups = {id(group): group for group in _GROUPS.values()}.values()
        for group in groups:
            names = ", ".join(f"{m.app_label}.{m.name}" for m in group.plan)
            write(f"migrate_tenants: {len(group.schemas)} schema(s) to migrate: {names}")
    total = len(schemas)
    queue: list[tuple[float, str, int, int]] = [(0.0, schema, 0, 0) for schema in schemas]  # not before, start, tries
    attempts: dict[str, int] = {}
    finished = 0

    def handle(result: SchemaResult, tries: int) -> None:
        nonlocal finished
        if result.error and result.retryable and tries < lock_retries and report.failed is None:
            report.retries += 1
            pause = min(retry_pause * 2**tries, 10.0)
            queue.append((time.monotonic() + pause, result.schema, result.done, tries + 1))
            if verbosity >= 1:
                write(f"[retry {tries + 1}/{lock_retries}] {result.schema}: {result.error} (again in {pause:.1f} s)")
            return
        report.results.append(result)
        if result.error:
            report.failed = report.failed or result
            if verbosity >= 0:
                write(f"[failed] {result.schema}: {result.error}")
            return
        finished += 1
        if verbosity >= 1:
            detail = f" {', '.join(result.applied)}" if verbosity >= 2 else ""
            warning = f" INVALID index(es): {', '.join(result.invalid_indexes)}" if result.invalid_indexes else ""
            write(f"[{finished:>{len(str(total))}}/{total}] {result.schema} {result.seconds:.3f}s{detail}{warning}")

    def next_job() -> tuple[str, int, int] | None:
        now = time.monotonic()
        for index, (not_before, schema, start, tries) in enumerate(queue):
            if not_before <= now:
                del queue[index]
                return schema, start, tries
        return None

    if processes <= 1:
        while queue and report.failed is None:
            job = next_job()
            if job is None:
                time.sleep(max(0.0, min(item[0] for item in queue) - time.monotonic()))
                continue
            schema, start, tries = job
            attempts[schema] = tries
            handle(schema_migrate(schema, start), tries)
    else:
        connections.close_all()
        with (
            _fork_without_broker_cleanup(),
            ProcessPoolExecutor(
                max_workers=processes, mp_context=get_context("fork"), initializer=_worker_init
            ) as pool,
        ):
            running: dict = {}
            while (queue and report.failed is None) or running:
                while len(running) < processes and report.failed is None:
                    job = next_job()
                    if job is None:
                        break
                    schema, start, tries = job
                    running[pool.submit(schema_migrate, schema, start)] = tries
                if not running:
                    time.sleep(max(0.0, min(item[0] for item in queue) - time.monotonic()))
                    continue
                done, _pending = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    tries = running.pop(future)
                    handle(future.result(), tries)
    report.seconds = time.perf_counter() - started
    return report


def report_summary(report: RolloutReport) -> list[str]:
    """Lines about per-schema timings (the slowest schemas first)."""
    migrated = report.migrated
    if not migrated:
        return []
    seconds = sorted(result.seconds for result in migrated)
    p95 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))]
    slowest = sorted(migrated, key=lambda result: -result.seconds)[:5]
    return [
        f"per schema: median {statistics.median(seconds):.3f}s, p95 {p95:.3f}s, max {seconds[-1]:.3f}s; "
        f"lock retries {report.retries}",
        "slowest: " + ", ".join(f"{result.schema} {result.seconds:.2f}s" for result in slowest),
    ]
