"""Task list with search and filters: the API against raw SQL, measured side by side.

Run with `.venv/bin/python platform/dev.py bench bench/task_list.py
[--tasks 100000] [--rounds 40] [--reuse]`. Builds its own database (`<DATABASE_URL's name>_bench`,
dropped and recreated): one organisation, 20 projects, 50 people, N tasks with English
and Russian titles. Then measures, in one run, p50/p95 of

Titles and descriptions mix ~70 real product words (each in roughly 0.1-0.3% of tasks)
with filler from a vocabulary of ~2,700 pseudo-words.

  api  GET /api/v1/tasks/?search=...&status=...&assignee=... through Django's test
       client (middleware, auth, permission checks, filters, serializers: everything)
  raw  the same page (count + 50 rows with project, assignees and labels) selected
       with one hand-written SQL statement through psycopg2

and prints both and their ratio, the same for search alone, and the default list (all
tasks, most recently updated first) through the API against the same list filtered by
one person (issue 16 item 6): all tasks and one project as the owner, and a member's
own tasks (`assignee=me`) against their default list.
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


RAW_PAGE_SQL_TEMPLATE = """
WITH q AS (
    SELECT websearch_to_tsquery('english', %(search)s) || websearch_to_tsquery('russian', %(search)s)
        || to_tsquery('simple', %(prefix)s) || to_tsquery('english', %(prefix)s)
        || to_tsquery('russian', %(prefix)s) AS query
), matches AS (
    SELECT t.id, t.project_id, t.number, t.title, t.description, t.status, t.priority, t.reporter_id,
           t.due_date, t.created_at, t.updated_at, t.completed_at, t.version,
           ts_rank(t.search_vector, q.query) + word_similarity(%(search)s, t.title) AS relevance
    FROM tasks_task t, q
    WHERE (t.search_vector @@ q.query OR %(search)s <%% t.title){filters}
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
RAW_PAGE_SQL = RAW_PAGE_SQL_TEMPLATE.replace(
    "{filters}",
    """
      AND t.status = %(status)s
      AND EXISTS (SELECT 1 FROM tasks_task_assignees a WHERE a.task_id = t.id AND a.member_id = %(assignee)s)""",
)
RAW_SEARCH_SQL = RAW_PAGE_SQL_TEMPLATE.replace("{filters}", "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data an earlier run left (same --tasks) instead of generating it again",
    )
    args = parser.parse_args()

    bench_django_setup(recreate=not args.reuse)

    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from tenant_apps.members.models import Member
    from tenant_apps.projects.models import Project
    from tenant_apps.tasks.models import Task

    organization = _kept_data(args.tasks) if args.reuse else None
    if organization is None:
        if args.reuse:
            bench_django_setup()  # nothing to reuse: start afresh
        bench = BenchOrganization()
        seconds = bench.tasks_add(args.tasks, random.Random(42))
        print(f"generated {bench.tasks} tasks in {seconds:.0f} s", flush=True)
        organization = bench.organization
    else:
        call_command("migrate_schemas", verbosity=0)  # migrations added since the data was made
        print(f"reusing {args.tasks} tasks of an earlier run", flush=True)
    owner = User.objects.get(email="owner@bench.test")
    with schema_context(organization.schema_name):
        members = list(Member.objects.order_by("pk"))
        tasks = Task.objects.count()
        project_key = Project.objects.order_by("pk").values_list("key", flat=True).first()
    person = User.objects.get(pk=members[7].user_id)  # the assignee of the filtered lists, a member
    _measure(
        args,
        organization=organization,
        owner=owner,
        person=person,
        assignee=members[7].pk,
        tasks=tasks,
        project_key=project_key,
    )


def _kept_data(tasks: int):
    """The bench organisation of an earlier run, if it has exactly `tasks` tasks."""
    from django.db import DatabaseError
    from django_tenants.utils import schema_context

    from shared_apps.tenants.models import Organization
    from tenant_apps.tasks.models import Task

    try:
        organization = Organization.objects.filter(slug="bench").first()
        if organization is None:
            return None
        with schema_context(organization.schema_name):
            return organization if Task.objects.count() == tasks else None
    except DatabaseError:  # no such database or tables yet
        return None


def _measure(args, *, organization, owner, person, assignee: int, tasks: int, project_key: str) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    client.force_login(owner)
    # The assignee, a member (not an owner: the all-tasks scope is then the projects they
    # may see), opening their own tasks.
    member_client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    member_client.force_login(person)
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

    def raw(search: str, filtered: bool) -> float:
        prefix = " & ".join(f"{word}:*" for word in search.split())
        sql = RAW_PAGE_SQL if filtered else RAW_SEARCH_SQL
        with schema_context(organization.schema_name), connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(sql, {"search": search, "prefix": prefix, "status": "todo", "assignee": assignee})
            cursor.fetchall()
            return time.perf_counter() - begin

    def api_list(path: str = "/api/v1/tasks/", query: dict | None = None, *, by=client) -> float:
        # The default view: every task, most recently updated first, no search.
        begin = time.perf_counter()
        response = by.get(path, query or {})
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, response.content[:300]
        return elapsed

    # One project's list, and the same filtered by one person (item 6 of issue 16: the
    # assignee filter against the default list, side by side).
    project_path = f"/api/v1/projects/{project_key}/tasks/"

    for search in searches:  # warm caches and plans
        api(search, True)
        raw(search, True)
        api(search, False)
        raw(search, False)
    api_list()
    api_list(project_path)
    api_list(project_path, {"assignee": assignee})
    api_list(query={"assignee": assignee})
    api_list(by=member_client)
    api_list(query={"assignee": "me"}, by=member_client)
    names = ("api", "raw", "search", "raw_search", "list", "assignee", "project", "project_assignee", "member", "mine")
    times: dict[str, list[float]] = {name: [] for name in names}
    for search in searches:  # each search alone too: the goal is per search (issue 16, item 5)
        times[f"search {search}"] = []
        times[f"raw_search {search}"] = []
    for round_index in range(args.rounds):
        search = searches[round_index % len(searches)]
        times["api"].append(api(search, True))
        times["raw"].append(raw(search, True))
        times["search"].append(api(search, False))
        times[f"search {search}"].append(times["search"][-1])
        times["raw_search"].append(raw(search, False))
        times[f"raw_search {search}"].append(times["raw_search"][-1])
        times["list"].append(api_list())
        times["assignee"].append(api_list(query={"assignee": assignee}))
        times["project"].append(api_list(project_path))
        times["project_assignee"].append(api_list(project_path, {"assignee": assignee}))
        times["member"].append(api_list(by=member_client))
        times["mine"].append(api_list(query={"assignee": "me"}, by=member_client))

    p = {name: _percentiles(samples) for name, samples in times.items() if samples}

    def row(label: str, name: str) -> str:
        return f"| {label} | {p[name][0] * 1000:.1f} | {p[name][1] * 1000:.1f} |"

    def ratio(label: str, api_name: str, raw_name: str) -> str:
        return f"| {label} | {p[api_name][0] / p[raw_name][0]:.2f}x | {p[api_name][1] / p[raw_name][1]:.2f}x |"

    print(f"\n{tasks} tasks, {args.rounds} rounds, searches {searches}")
    print("| measure | p50 (ms) | p95 (ms) |")
    print("|---|---|---|")
    print(row("API: search + status + assignee", "api"))
    print(row("raw SQL: same page, previous (phrase) search", "raw"))
    print(ratio("API / raw", "api", "raw"))
    print(row("API: search only", "search"))
    for search in searches:
        if times[f"search {search}"]:
            print(row(f"API: search only, `{search}`", f"search {search}"))
            print(ratio(f"API / previous raw, `{search}`", f"search {search}", f"raw_search {search}"))
    print(row("raw SQL: search only, same page, previous search", "raw_search"))
    print(ratio("API / raw, search only", "search", "raw_search"))
    print(row("API: all tasks, default order, no search", "list"))
    print(row("API: all tasks, assignee filter alone", "assignee"))
    print(ratio("assignee / default list, all tasks", "assignee", "list"))
    print(row(f"API: one project ({project_key}), default order", "project"))
    print(row(f"API: one project ({project_key}), assignee filter alone", "project_assignee"))
    print(ratio("assignee / default list, one project", "project_assignee", "project"))
    print(row("API: a member's all tasks, default order", "member"))
    print(row("API: a member's all tasks, `assignee=me`", "mine"))
    print(ratio("`assignee=me` / default list, a member", "mine", "member"))


if __name__ == "__main__":
    main()
