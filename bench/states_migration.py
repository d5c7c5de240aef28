"""The status -> workflow state migration (projects 0004-0005, tasks 0008-0009) on a
schema holding tasks, timed.

Run with `.venv/bin/python platform/dev.py bench bench/states_migration.py
[--tasks 100000]`. Builds its own database (`<DATABASE_URL's name>_bench`, dropped and
recreated): one organisation with 20 projects and N tasks spread over the five default
states. Then migrates that schema back to before workflow states (timed: the reverse
mapping), and forward again (timed: states created per project, every task mapped, the
column made NOT NULL, the board index built), checks every task has the state of its
old status, and prints the timings (docs/benchmarks.md, "Workflow states migration").
"""

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup  # noqa: E402

BEFORE = [("tasks", "0007_task_rank"), ("projects", "0003_project_task_sequence")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    bench_django_setup()

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django_tenants.utils import schema_context

    from tenant_apps.tasks.models import Task

    bench = BenchOrganization(people=5, projects=20)
    seconds = bench.tasks_add(args.tasks, random.Random(15))
    print(f"{bench.tasks} tasks inserted in {seconds:.1f} s")

    def migrate(targets) -> float:
        started = time.perf_counter()
        MigrationExecutor(connection).migrate(targets)
        return time.perf_counter() - started

    with schema_context(bench.organization.schema_name):
        before = dict(Task.objects.values_list("pk", "state__name"))
        latest = [
            node for node in MigrationExecutor(connection).loader.graph.leaf_nodes() if node[0] in ("tasks", "projects")
        ]
        backward = migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM tasks_task GROUP BY status ORDER BY status")
            statuses = cursor.fetchall()
        forward = migrate(latest)
        after = dict(Task.objects.values_list("pk", "state__name"))
        assert after == before, "a task changed state on the way back and forth"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tasks_task")
    print(f"old statuses after the backward run: {statuses}")
    print("| step | seconds |")
    print("|---|---|")
    print(f"| backward (state -> status, drop the column and the states) | {backward:.2f} |")
    print(f"| forward (5 states per project, map {len(after)} tasks, NOT NULL, index) | {forward:.2f} |")


if __name__ == "__main__":
    main()
