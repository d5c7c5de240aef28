"""Custom field filters against the same filters on built-in columns, measured side by
side (issue 15 item 4: "at 100k tasks a filter on a custom field costs <= 2x the same
filter on a built-in column").

Run with `make bench-fields` (or `.venv/bin/python platform/dev.py bench
bench/custom_fields.py [--tasks 100000] [--rounds 30]`). Builds its own database
(`<DATABASE_URL's name>_bench`, dropped and recreated): one organisation, ONE project
holding every task (the worst case for a per-project filter), 50 people. Each task's
built-in priority is mirrored into a single-select custom field "Severity" (an option
per priority), and its due date (set on 70% of tasks, within 60 days of creation) into a
date custom field "Ships", so both sides select exactly the same tasks; `--extra-fields`
(3) more number fields hold a value on every task, as in a project with several fields. Then, in one
run, p50/p95 of

  API  GET /api/v1/projects/P00/tasks/ through Django's test client (everything: auth,
       permissions, filters, count, page of 50 with custom field values)
         equality  ?priority=high                 vs ?field_<severity>=<high option>
         range     ?due_after=A&due_before=B      vs ?field_<ships>_min=A&field_<ships>_max=B'
         any-of    ?priority=low&priority=high    vs two options of field_<severity>
  SQL  the filter alone: SELECT count(*) of the matching tasks (no LIMIT), built-in
       column against the EXISTS on the value table, as the API writes it

and the ratio custom / built-in of each. Sorting (the same run): the page of 50 ordered by
the built-in due date (`?ordering=due` / `-due`) against the custom date field
(`?ordering=field_<ships>` / `-field_<ships>`), which must give the same tasks in the same
order (asserted); in SQL the page's ORDER BY ... LIMIT 50 alone, built-in against the
LEFT JOIN the list writes, and against the correlated subquery it wrote before (for
reference); and EXPLAIN ANALYZE of the custom-field sort.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup  # noqa: E402


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    # Other fields with a value on every task, as in a project with several fields: the
    # sorted field's rows are then a minority of the value table, as they would be.
    parser.add_argument("--extra-fields", type=int, default=3)
    args = parser.parse_args()
    bench_django_setup(recreate=True)

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    from tenant_apps.fields.models import CustomFieldOption
    from tenant_apps.fields.services import field_create

    bench = BenchOrganization(projects=1)
    seconds = bench.tasks_add(args.tasks, random.Random(42))
    print(f"generated {bench.tasks} tasks in {seconds:.0f} s", flush=True)
    project = bench.projects[0]
    with schema_context(bench.organization.schema_name):
        owner = bench.members[0]
        severity = field_create(
            project=project,
            actor=owner,
            name="Severity",
            kind="select",
            options=[{"name": name} for name in ("None", "Low", "Medium", "High", "Urgent")],
        )
        ships = field_create(project=project, actor=owner, name="Ships", kind="date")
        option = {o.position: o.pk for o in CustomFieldOption.objects.filter(field=severity)}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")
            cursor.execute(
                "UPDATE tasks_task SET due_date = created_at::date + (random() * 60)::int WHERE random() < 0.7"
            )
            cursor.execute(
                "INSERT INTO fields_customfieldvalue (task_id, field_id, value_option_id) "
                "SELECT id, %s, (ARRAY[%s, %s, %s, %s, %s])[priority + 1] FROM tasks_task",
                [severity.pk, *[option[position] for position in range(5)]],
            )
            cursor.execute(
                "INSERT INTO fields_customfieldvalue (task_id, field_id, value_date) "
                "SELECT id, %s, due_date FROM tasks_task WHERE due_date IS NOT NULL",
                [ships.pk],
            )
            for n in range(args.extra_fields):
                extra = field_create(project=project, actor=owner, name=f"Extra {n}", kind="number")
                cursor.execute(
                    "INSERT INTO fields_customfieldvalue (task_id, field_id, value_number) "
                    "SELECT id, %s, random() * 100 FROM tasks_task",
                    [extra.pk],
                )
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("SELECT count(*) FROM fields_customfieldvalue")
            values = cursor.fetchone()[0]
        print(f"{values} custom field values written in {time.perf_counter() - started:.0f} s", flush=True)

    client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    client.force_login(bench.owner)
    path = f"/api/v1/projects/{project.key}/tasks/"
    start = datetime.now(tz=UTC).date() - timedelta(days=200)
    end = start + timedelta(days=14)
    cases = {
        "equality": ({"priority": "high"}, {f"field_{severity.pk}": option[3]}),
        "range": (
            {"due_after": start.isoformat(), "due_before": (end + timedelta(days=1)).isoformat()},
            {f"field_{ships.pk}_min": start.isoformat(), f"field_{ships.pk}_max": end.isoformat()},
        ),
        "any_of": (
            {"priority": ["low", "high"]},
            {f"field_{severity.pk}": [option[1], option[3]]},
        ),
        "sort_asc": ({"ordering": "due"}, {"ordering": f"field_{ships.pk}"}),
        "sort_desc": ({"ordering": "-due"}, {"ordering": f"-field_{ships.pk}"}),
    }
    sort_custom = (
        "SELECT t.id FROM tasks_task t LEFT JOIN fields_customfieldvalue v ON v.task_id = t.id AND v.field_id = %(d)s "
        "WHERE t.project_id = %(p)s ORDER BY v.value_date {dir} NULLS LAST, t.id {dir} LIMIT 50"
    )
    sort_builtin = (
        "SELECT t.id FROM tasks_task t WHERE t.project_id = %(p)s "
        "ORDER BY t.due_date {dir} NULLS LAST, t.id {dir} LIMIT 50"
    )
    sort_subquery = (
        "SELECT t.id FROM tasks_task t WHERE t.project_id = %(p)s ORDER BY (SELECT v.value_date FROM "
        "fields_customfieldvalue v WHERE v.task_id = t.id AND v.field_id = %(d)s LIMIT 1) {dir} NULLS LAST, "
        "t.id {dir} LIMIT 50"
    )
    sql = {
        "equality": (
            "SELECT count(*) FROM tasks_task t WHERE t.project_id = %(p)s AND t.priority = 3",
            "SELECT count(*) FROM tasks_task t WHERE t.project_id = %(p)s AND EXISTS (SELECT 1 FROM "
            "fields_customfieldvalue v WHERE v.task_id = t.id AND v.field_id = %(s)s AND v.value_option_id = %(o)s)",
        ),
        "range": (
            "SELECT count(*) FROM tasks_task t WHERE t.project_id = %(p)s AND t.due_date >= %(a)s "
            "AND t.due_date <= %(b)s",
            "SELECT count(*) FROM tasks_task t WHERE t.project_id = %(p)s AND EXISTS (SELECT 1 FROM "
            "fields_customfieldvalue v WHERE v.task_id = t.id AND v.field_id = %(d)s AND v.value_date >= %(a)s "
            "AND v.value_date <= %(b)s)",
        ),
        "any_of": (
            "SELECT count(*) FROM tasks_task t WHERE t.project_id = %(p)s AND t.priority IN (1, 3)",
            "SELECT count(*) FROM tasks_task t WHERE t.project_id = %(p)s AND EXISTS (SELECT 1 FROM "
            "fields_customfieldvalue v WHERE v.task_id = t.id AND v.field_id = %(s)s "
            "AND v.value_option_id IN (%(o1)s, %(o)s))",
        ),
    }
    for case, direction in (("sort_asc", "ASC"), ("sort_desc", "DESC")):
        sql[case] = (sort_builtin.format(dir=direction), sort_custom.format(dir=direction))
        sql[f"{case}_subquery"] = (sort_builtin.format(dir=direction), sort_subquery.format(dir=direction))
    sql_params = {"p": project.pk, "s": severity.pk, "o": option[3], "o1": option[1], "d": ships.pk,
                  "a": start, "b": end}  # fmt: skip

    def api(query: dict) -> tuple[float, tuple]:
        begin = time.perf_counter()
        response = client.get(path, query)
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        return elapsed, (body["count"], [item["number"] for item in body["results"]] if "ordering" in query else [])

    def raw(statement: str) -> tuple[float, int]:
        with schema_context(bench.organization.schema_name), connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(statement, sql_params)
            count = cursor.fetchone()[0]
            return time.perf_counter() - begin, count

    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for case, (builtin, custom) in cases.items():  # warm caches and plans; both sides match alike
        for _ in range(3):
            _t, builtin_count = api(builtin)
            _t, custom_count = api(custom)
            _t, raw_builtin = raw(sql[case][0])
            _t, raw_custom = raw(sql[case][1])
        assert builtin_count == custom_count, (case, builtin_count, custom_count)
        assert raw_builtin == raw_custom, (case, raw_builtin, raw_custom)
        counts[case] = builtin_count[0]
    for case in ("sort_asc_subquery", "sort_desc_subquery"):
        raw(sql[case][1])
    for _ in range(args.rounds):
        for case, (builtin, custom) in cases.items():
            times.setdefault(f"api_builtin_{case}", []).append(api(builtin)[0])
            times.setdefault(f"api_custom_{case}", []).append(api(custom)[0])
            times.setdefault(f"sql_builtin_{case}", []).append(raw(sql[case][0])[0])
            times.setdefault(f"sql_custom_{case}", []).append(raw(sql[case][1])[0])
        for case in ("sort_asc_subquery", "sort_desc_subquery"):
            times.setdefault(f"sql_builtin_{case}", []).append(raw(sql[case][0])[0])
            times.setdefault(f"sql_custom_{case}", []).append(raw(sql[case][1])[0])
    p = {name: _percentiles(samples) for name, samples in times.items()}
    with schema_context(bench.organization.schema_name), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql["sort_asc"][1], sql_params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())

    print(f"\n{bench.tasks} tasks in one project, {args.rounds} rounds; matches: {counts}")
    print("| measure | built-in p50 / p95 (ms) | custom field p50 / p95 (ms) | custom / built-in (p50, p95) |")
    print("|---|---|---|---|")
    for layer in ("api", "sql"):
        layer_cases = [*cases, "sort_asc_subquery", "sort_desc_subquery"] if layer == "sql" else list(cases)
        for case in layer_cases:
            b, c = p[f"{layer}_builtin_{case}"], p[f"{layer}_custom_{case}"]
            print(
                f"| {layer.upper()} {case} | {b[0] * 1000:.1f} / {b[1] * 1000:.1f} | {c[0] * 1000:.1f} / "
                f"{c[1] * 1000:.1f} | {c[0] / b[0]:.2f}x, {c[1] / b[1]:.2f}x |"
            )

    print(f"\nload average (1/5/15 min) at the end: {load}")
    print("\nEXPLAIN ANALYZE of the custom-field sort (ascending, page of 50):\n" + plan)


if __name__ == "__main__":
    main()
