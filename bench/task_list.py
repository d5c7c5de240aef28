"""Task list with search and filters: the API against raw SQL, measured side by side.

Run with `.venv/bin/python platform/dev.py bench bench/task_list.py
[--tasks 100000] [--rounds 40]`. Builds its own database (`<DATABASE_URL's name>_bench`,
dropped and recreated): one organisation, 20 projects, 50 people, N tasks with English
and Russian titles. Then measures, in one run, p50/p95 of

Titles and descriptions mix ~70 real product words (each in roughly 0.1-0.3% of tasks)
with filler from a vocabulary of ~2,700 pseudo-words.

  api  GET /api/v1/tasks/?search=...&status=...&assignee=... through Django's test
       client (middleware, auth, permission checks, filters, serializers: everything)
  raw  the same page (count + 50 rows with project, assignees and labels) selected
       with one hand-written SQL statement through psycopg2

and prints both and their ratio, plus search alone.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup  # noqa: E402


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


RAW_PAGE_SQL = """
WITH q AS (
    SELECT websearch_to_tsquery('english', %(search)s) || websearch_to_tsquery('russian', %(search)s)
        || to_tsquery('simple', %(prefix)s) || to_tsquery('english', %(prefix)s)
        || to_tsquery('russian', %(prefix)s) AS query
), matches AS (
    SELECT t.id, t.project_id, t.number, t.title, t.description, t.status, t.priority, t.reporter_id,
           t.due_date, t.created_at, t.updated_at, t.completed_at, t.version,
           ts_rank(t.search_vector, q.query) + word_similarity(%(search)s, t.title) AS relevance
    FROM tasks_task t, q
    WHERE (t.search_vector @@ q.query OR %(search)s <%% t.title)
      AND t.status = %(status)s
      AND EXISTS (SELECT 1 FROM tasks_task_assignees a WHERE a.task_id = t.id AND a.member_id = %(assignee)s)
)
SELECT (SELECT count(*) FROM matches) AS total, m.*, p.key,
       (SELECT json_agg(json_build_object('id', mm.id, 'display_name', mm.display_name, 'email', mm.email))
          FROM tasks_task_assignees a JOIN members_member mm ON mm.id = a.member_id WHERE a.task_id = m.id),
       (SELECT json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color))
          FROM tasks_task_labels tl JOIN tasks_label l ON l.id = tl.label_id WHERE tl.task_id = m.id)
FROM matches m JOIN projects_project p ON p.id = m.project_id
ORDER BY m.relevance DESC, m.id
LIMIT 50
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    bench_django_setup()

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    bench = BenchOrganization()
    organization, owner, members = bench.organization, bench.owner, bench.members
    seconds = bench.tasks_add(args.tasks, random.Random(42))
    print(f"generated {bench.tasks} tasks in {seconds:.0f} s", flush=True)

    with schema_context(organization.schema_name):
        assignee = members[7].pk
    client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    client.force_login(owner)
    searches = ["login form", "назначена", "payment", "dashbord", "export report"]

    def api(search: str, filtered: bool) -> float:
        query = {"search": search}
        if filtered:
            query |= {"status": "todo", "assignee": assignee}
        begin = time.perf_counter()
        response = client.get("/api/v1/tasks/", query)
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, response.content[:300]
        return elapsed

    def raw(search: str) -> float:
        prefix = " & ".join(f"{word}:*" for word in search.split())
        with schema_context(organization.schema_name), connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(RAW_PAGE_SQL, {"search": search, "prefix": prefix, "status": "todo", "assignee": assignee})
            cursor.fetchall()
            return time.perf_counter() - begin

    for search in searches:  # warm caches and plans
        api(search, True)
        raw(search)
    api_times, raw_times, search_times = [], [], []
    for round_index in range(args.rounds):
        search = searches[round_index % len(searches)]
        api_times.append(api(search, True))
        raw_times.append(raw(search))
        search_times.append(api(search, False))

    api_p50, api_p95 = _percentiles(api_times)
    raw_p50, raw_p95 = _percentiles(raw_times)
    search_p50, search_p95 = _percentiles(search_times)
    tasks = bench.tasks
    print(f"\n{tasks} tasks, {args.rounds} rounds, searches {searches}")
    print("| measure | p50 (ms) | p95 (ms) |")
    print("|---|---|---|")
    print(f"| API: search + status + assignee | {api_p50 * 1000:.1f} | {api_p95 * 1000:.1f} |")
    print(f"| raw SQL: same page | {raw_p50 * 1000:.1f} | {raw_p95 * 1000:.1f} |")
    print(f"| API / raw | {api_p50 / raw_p50:.2f}x | {api_p95 / raw_p95:.2f}x |")
    print(f"| API: search only | {search_p50 * 1000:.1f} | {search_p95 * 1000:.1f} |")


if __name__ == "__main__":
    main()
