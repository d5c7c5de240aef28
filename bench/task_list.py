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
tasks, most recently updated first) through the API.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database_url, database_recreate  # noqa: E402

EN_WORDS = [
    *[
        "login",
        "form",
        "design",
        "landing",
        "page",
        "payment",
        "checkout",
        "invoice",
        "report",
        "export",
        "import",
        "search",
    ],
    *["filter", "dashboard", "mobile", "layout", "cache", "database", "migration", "deploy", "release", "notification"],
    *[
        "email",
        "settings",
        "profile",
        "avatar",
        "upload",
        "attachment",
        "comment",
        "permission",
        "role",
        "token",
        "session",
    ],
    *["timeout", "error", "crash"],
]
RU_WORDS = [
    *[
        "задача",
        "назначена",
        "исправить",
        "ошибку",
        "оплаты",
        "отчёт",
        "выгрузка",
        "поиск",
        "фильтр",
        "страница",
        "вход",
    ],
    *[
        "пароль",
        "уведомление",
        "письмо",
        "настройки",
        "профиль",
        "загрузка",
        "вложение",
        "комментарий",
        "права",
        "роль",
    ],
    *["сессия", "сбой"],
]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


SYLLABLES = ["ka", "lo", "mi", "ter", "vos", "dan", "rel", "shu", "pra", "nek", "zor", "bil", "gam", "tiv"]


def _filler(rng: random.Random) -> str:
    """A pseudo-word from a vocabulary of ~2,700: real text has many distinct words, so a
    search term matches a small share of tasks, not a third of them."""
    return "".join(rng.choice(SYLLABLES) for _ in range(3))


def _text(rng: random.Random, words: int, real_share: float) -> str:
    """`words` words, each a real English/Russian product word with `real_share`
    probability, else filler."""
    out = []
    for _ in range(words):
        if rng.random() < real_share:
            out.append(rng.choice(RU_WORDS if rng.random() < 0.3 else EN_WORDS))
        else:
            out.append(_filler(rng))
    return " ".join(out)


def _title(rng: random.Random) -> str:
    return _text(rng, 5, 0.06).capitalize()


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

    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["TESSERA_SPARE_POOL_SIZE"] = "0"
    os.environ["CELERY_QUEUE"] = "tessera-bench"
    os.environ["DJANGO_DEBUG"] = "false"

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from tenant_apps.members.models import Member
    from tenant_apps.tasks.models import Task

    settings.ALLOWED_HOSTS = ["*"]
    organization = _kept_data(args.tasks) if args.reuse else None
    if organization is None:
        connection.close()
        database_recreate(os.environ["DATABASE_URL"])
        call_command("migrate_schemas", "--shared", verbosity=0)
        organization = _generate(args.tasks)
    else:
        call_command("migrate_schemas", verbosity=0)  # migrations added since the data was made
        print(f"reusing {args.tasks} tasks of an earlier run", flush=True)
    owner = User.objects.get(email="owner@bench.test")
    with schema_context(organization.schema_name):
        members = list(Member.objects.order_by("pk"))
        tasks = Task.objects.count()
    _measure(args, organization=organization, owner=owner, assignee=members[7].pk, tasks=tasks)


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


def _generate(tasks: int):
    """One organisation, 20 projects, 50 people, `tasks` tasks; VACUUM ANALYZE."""
    from django.db import connection
    from django_tenants.utils import schema_context
    from psycopg2.extras import execute_values

    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import OrgRole
    from shared_apps.tenants.services import membership_add, organization_create
    from tenant_apps.members.models import Member
    from tenant_apps.projects.models import Project, Role
    from tenant_apps.projects.services import project_create, project_member_set

    rng = random.Random(42)
    owner = User.objects.create_user(email="owner@bench.test", password="bench-pass-123")  # noqa: S106
    organization = organization_create(slug="bench", name="Bench", owner=owner)
    people = [User.objects.create_user(email=f"p{index}@bench.test") for index in range(49)]
    for person in people:
        membership_add(organization=organization, user=person, role=OrgRole.MEMBER)

    started = time.perf_counter()
    with schema_context(organization.schema_name):
        members = list(Member.objects.order_by("pk"))
        developer = Role.objects.get(name="Developer")
        projects = []
        for index in range(20):
            project = project_create(key=f"P{index:02d}", name=f"Project {index}", creator=members[0])
            for member in members[1:]:
                project_member_set(project=project, member=member, role=developer)
            projects.append(project)
        per_project = tasks // len(projects)
        statuses = ["todo", "in_progress", "in_review", "done", "cancelled"]
        with connection.cursor() as cursor:
            for project in projects:
                for start in range(0, per_project, 10_000):
                    rows = []
                    for number in range(start + 1, min(start + 10_000, per_project) + 1):
                        status = rng.choice(statuses)
                        rows.append(
                            (project.pk, number, _title(rng), _text(rng, 12, 0.03), status,
                             rng.randint(0, 4), members[rng.randrange(len(members))].pk, 1)
                        )  # fmt: skip
                    ids = execute_values(
                        cursor,
                        "INSERT INTO tasks_task (project_id, number, title, description, status, priority, "
                        "reporter_id, version, created_at, updated_at) "
                        "SELECT v.*, now() - random() * interval '400 days', now() FROM (VALUES %s) AS v "
                        "RETURNING id",
                        rows,
                        fetch=True,
                    )
                    links = [
                        (task_id, members[index].pk)
                        for (task_id,) in ids
                        for index in rng.sample(range(len(members)), rng.randint(0, 2))
                    ]
                    execute_values(cursor, "INSERT INTO tasks_task_assignees (task_id, member_id) VALUES %s", links)
                Project.objects.filter(pk=project.pk).update(task_sequence=per_project)
            # As autovacuum would soon after: hint bits and the visibility map set, so the
            # measurement sees a settled table, not the first read after a bulk load.
            cursor.execute("VACUUM ANALYZE")
    print(f"generated {per_project * len(projects)} tasks in {time.perf_counter() - started:.0f} s", flush=True)
    return organization


def _measure(args, *, organization, owner, assignee: int, tasks: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

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

    def raw(search: str, filtered: bool) -> float:
        prefix = " & ".join(f"{word}:*" for word in search.split())
        sql = RAW_PAGE_SQL if filtered else RAW_SEARCH_SQL
        with schema_context(organization.schema_name), connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(sql, {"search": search, "prefix": prefix, "status": "todo", "assignee": assignee})
            cursor.fetchall()
            return time.perf_counter() - begin

    def api_list() -> float:
        # The default view: every task, most recently updated first, no search.
        begin = time.perf_counter()
        response = client.get("/api/v1/tasks/")
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, response.content[:300]
        return elapsed

    for search in searches:  # warm caches and plans
        api(search, True)
        raw(search, True)
        api(search, False)
        raw(search, False)
    api_list()
    times: dict[str, list[float]] = {name: [] for name in ("api", "raw", "search", "raw_search", "list")}
    for round_index in range(args.rounds):
        search = searches[round_index % len(searches)]
        times["api"].append(api(search, True))
        times["raw"].append(raw(search, True))
        times["search"].append(api(search, False))
        times["raw_search"].append(raw(search, False))
        times["list"].append(api_list())

    p = {name: _percentiles(samples) for name, samples in times.items()}

    def row(label: str, name: str) -> str:
        return f"| {label} | {p[name][0] * 1000:.1f} | {p[name][1] * 1000:.1f} |"

    def ratio(label: str, api_name: str, raw_name: str) -> str:
        return f"| {label} | {p[api_name][0] / p[raw_name][0]:.2f}x | {p[api_name][1] / p[raw_name][1]:.2f}x |"

    print(f"\n{tasks} tasks, {args.rounds} rounds, searches {searches}")
    print("| measure | p50 (ms) | p95 (ms) |")
    print("|---|---|---|")
    print(row("API: search + status + assignee", "api"))
    print(row("raw SQL: same page", "raw"))
    print(ratio("API / raw", "api", "raw"))
    print(row("API: search only", "search"))
    print(row("raw SQL: search only, same page", "raw_search"))
    print(ratio("API / raw, search only", "search", "raw_search"))
    print(row("API: all tasks, default order, no search", "list"))


if __name__ == "__main__":
    main()
