"""Completed-tasks report on a real Celery worker process: time and peak memory, against
the same rows exported by PostgreSQL itself (`COPY ... TO STDOUT`).

Run with `.venv/bin/python platform/dev.py bench bench/report.py
[--sizes 100000,1000000] [--formats csv,xlsx]`. Builds its own database
(`<DATABASE_URL's name>_bench`, dropped and recreated) with the organisation of
bench/common.py, every task done (completed 0-30 days after creation), then for each
size (tasks are added up to it) and format:

  worker  a fresh `celery worker --pool solo` process is started, the report over every
          completed task is requested through `report_request`, the worker generates it
          (summary queries, rows streamed from a server-side cursor, file written and
          moved into storage); time from the report's `started_at` to `finished_at`;
          the process's peak RSS (`ru_maxrss` from `os.wait4`, its own rusage only)
          after it is stopped
  raw     `COPY (SELECT <the same columns>) TO STDOUT WITH CSV` of the same rows into a
          file through psycopg2: the floor for reading and formatting them

and prints both and their ratio.
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup  # noqa: E402

# bench_django_setup sends to this queue; the worker consumes it.
QUEUE = "tessera-bench"

RAW_COPY_SQL = """
COPY (
    SELECT p.key || '-' || t.number, t.title, p.key,
           array_to_string(ARRAY(
               SELECT coalesce(nullif(m.display_name, ''), m.email) FROM tasks_task_assignees a
               JOIN members_member m ON m.id = a.member_id WHERE a.task_id = t.id ORDER BY 1), ', '),
           array_to_string(ARRAY(
               SELECT l.name FROM tasks_task_labels tl JOIN tasks_label l ON l.id = tl.label_id
               WHERE tl.task_id = t.id ORDER BY 1), ', '),
           t.priority,
           to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
           to_char(t.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
           round((extract(epoch FROM t.completed_at - t.created_at) / 86400)::numeric, 2),
           (SELECT o.name FROM fields_customfieldvalue v JOIN fields_customfield f ON f.id = v.field_id
            JOIN fields_customfieldoption o ON o.id = v.value_option_id
            WHERE v.task_id = t.id AND f.name = 'Severity'),
           (SELECT v.value_number FROM fields_customfieldvalue v JOIN fields_customfield f ON f.id = v.field_id
            WHERE v.task_id = t.id AND f.name = 'Points')
    FROM tasks_task t JOIN projects_project p ON p.id = t.project_id
    WHERE t.completed_at >= %(start)s AND t.completed_at < %(end)s
    ORDER BY t.completed_at, t.id
) TO STDOUT WITH CSV HEADER
"""


def _worker_start() -> subprocess.Popen:
    # PYTHONWARNINGS: Celery warns about running as root (CI and containers here).
    env = dict(os.environ, CELERY_QUEUE=QUEUE, DJANGO_LOG_LEVEL="WARNING", PYTHONWARNINGS="ignore")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", QUEUE],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return worker


def _worker_stop(worker: subprocess.Popen) -> int:
    """Stop the worker; its own peak RSS in MiB (ru_maxrss is in KiB on Linux)."""
    worker.send_signal(signal.SIGTERM)
    _pid, _status, usage = os.wait4(worker.pid, 0)
    worker.returncode = 0
    return usage.ru_maxrss // 1024


def _measure(bench: BenchOrganization, report_format: str, start, end) -> tuple[float, int, int, int]:
    """(generation seconds, peak RSS MiB, rows, bytes) of one report on a fresh worker."""
    from django_tenants.utils import schema_context

    from tenant_apps.members.models import Member
    from tenant_apps.reports.models import Report
    from tenant_apps.reports.services.requests import report_request
    from tenant_apps.tasks.attachments import storage

    worker = _worker_start()
    try:
        with schema_context(bench.organization.schema_name):
            owner = Member.objects.get(user_id=bench.owner.pk)
            report, _created = report_request(
                actor=owner,
                kind="completed_tasks",
                format=report_format,
                params={"from": start.isoformat(), "to": end.isoformat()},
                time_zone="UTC",
            )
            while True:
                report.refresh_from_db()
                if report.status in (Report.Status.DONE, Report.Status.FAILED):
                    break
                time.sleep(0.5)
            assert report.status == Report.Status.DONE, report.failure_reason
            seconds = (report.finished_at - report.started_at).total_seconds()
            rows, size = report.row_count, report.file_size
            storage().delete(report.storage_key)
            Report.objects.filter(pk=report.pk).delete()
    finally:
        peak = _worker_stop(worker)
    return seconds, peak, rows, size


def _raw(bench: BenchOrganization, start, end) -> tuple[float, int]:
    from django.db import connection
    from django_tenants.utils import schema_context

    with (
        schema_context(bench.organization.schema_name),
        connection.cursor() as cursor,
        tempfile.TemporaryFile() as out,
    ):
        begin = time.perf_counter()
        sql = cursor.mogrify(RAW_COPY_SQL, {"start": start, "end": end}).decode()
        cursor.copy_expert(sql, out)
        return time.perf_counter() - begin, out.tell()


def _fields_add(bench: BenchOrganization) -> None:
    """Two custom fields in every project (a single select "Severity" and a number
    "Points", as issue 15 has them in reports): defined through the service, values for
    every task without one by SQL (a select option on three tasks in four, points on half)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenant_apps.fields.models import CustomField
    from tenant_apps.fields.services import field_create

    with schema_context(bench.organization.schema_name), connection.cursor() as cursor:
        owner = bench.members[0]
        for project in bench.projects:
            if not CustomField.objects.filter(project=project).exists():
                options = [{"name": name} for name in ("Low", "High", "Critical")]
                field_create(project=project, actor=owner, name="Severity", kind="select", options=options)
                field_create(project=project, actor=owner, name="Points", kind="number")
        cursor.execute(
            """
            INSERT INTO fields_customfieldvalue (task_id, field_id, value_option_id)
            SELECT t.id, f.id, (SELECT o.id FROM fields_customfieldoption o WHERE o.field_id = f.id
                                ORDER BY o.position OFFSET mod(t.id, 3) LIMIT 1)
            FROM tasks_task t JOIN fields_customfield f ON f.project_id = t.project_id AND f.kind = 'select'
            WHERE mod(t.id, 4) <> 0
              AND NOT EXISTS (SELECT FROM fields_customfieldvalue v WHERE v.task_id = t.id AND v.field_id = f.id)
            """
        )
        cursor.execute(
            """
            INSERT INTO fields_customfieldvalue (task_id, field_id, value_number)
            SELECT t.id, f.id, mod(t.id, 13) * 0.5
            FROM tasks_task t JOIN fields_customfield f ON f.project_id = t.project_id AND f.kind = 'number'
            WHERE mod(t.id, 2) = 0
              AND NOT EXISTS (SELECT FROM fields_customfieldvalue v WHERE v.task_id = t.id AND v.field_id = f.id)
            """
        )
        cursor.execute("VACUUM ANALYZE fields_customfieldvalue")


def _bench_existing() -> BenchOrganization:
    """The organisation a previous `--build-only` run left in the benchmark database."""
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import Organization
    from tenant_apps.members.models import Member
    from tenant_apps.projects.models import Project
    from tenant_apps.tasks.models import Task

    bench = BenchOrganization.__new__(BenchOrganization)
    bench.owner = User.objects.get(email="owner@bench.test")
    bench.organization = Organization.objects.get(slug="bench")
    with schema_context(bench.organization.schema_name):
        bench.members = list(Member.objects.order_by("pk"))
        bench.projects = list(Project.objects.order_by("key"))
        bench.tasks = Task.objects.count()
    return bench


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--formats", default="csv,xlsx")
    # Building a million tasks takes minutes on a loaded machine: build once, measure often.
    parser.add_argument("--build-only", action="store_true", help="build the database up to the largest size, stop")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --build-only run left")
    parser.add_argument("--raw-runs", type=int, default=3, help="raw COPY runs (the best is kept)")
    # A short period gives a small report from the same database (the memory of a worker
    # that writes a few thousand rows, to compare with a million).
    parser.add_argument("--period-days", type=int, default=730, help="the report's period, ending tomorrow")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    formats = args.formats.split(",")

    bench_django_setup(recreate=not args.reuse)
    from datetime import UTC, datetime, timedelta

    bench = _bench_existing() if args.reuse else BenchOrganization()
    if args.build_only:
        sizes = sizes[-1:]
    rng = random.Random(42)
    # Every task completed in the period: the report holds one row per task.
    end = datetime.now(tz=UTC) + timedelta(days=1)
    start = end - timedelta(days=args.period_days)
    results = []
    for size in sizes:
        if size < bench.tasks:
            continue
        if size > bench.tasks:
            seconds = bench.tasks_add(size - bench.tasks, rng, done_share=1.0)
            _fields_add(bench)
            print(f"generated tasks up to {bench.tasks} in {seconds:.0f} s", flush=True)
        if args.build_only:
            return
        raw_seconds, raw_bytes = min(_raw(bench, start, end) for _ in range(args.raw_runs))
        print(f"  raw COPY: {raw_seconds:.2f} s, {raw_bytes / 2**20:.1f} MiB", flush=True)
        for report_format in formats:
            seconds, peak, rows, size_bytes = _measure(bench, report_format, start, end)
            print(f"  {report_format}: {seconds:.2f} s, peak RSS {peak} MiB, {rows} rows", flush=True)
            results.append((bench.tasks, report_format, rows, seconds, peak, size_bytes, raw_seconds))

    print("\n| tasks | format | rows | worker time (s) | peak RSS (MiB) | file (MiB) | raw COPY (s) | worker / raw |")
    print("|---|---|---|---|---|---|---|---|")
    for tasks, report_format, rows, seconds, peak, size_bytes, raw_seconds in results:
        print(
            f"| {tasks:,} | {report_format} | {rows:,} | {seconds:.1f} | {peak} | {size_bytes / 2**20:.1f} "
            f"| {raw_seconds:.1f} | {seconds / raw_seconds:.1f}x |"
        )


if __name__ == "__main__":
    main()
