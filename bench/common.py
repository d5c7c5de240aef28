"""What every benchmark shares: its own database next to the development one, and the
generator of an organisation with N tasks (English and Russian titles)."""

import os
import random
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse, urlunparse


def bench_database_url() -> str:
    """DATABASE_URL with `_bench` appended to the database name."""
    url = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(url._replace(path=url.path.rstrip("/") + "_bench"))


BENCH_REDIS_DB = 1


def bench_redis_url() -> str:
    """REDIS_URL with database 1: the development stack uses 0 and the tests 15 downwards."""
    url = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:63799/0")
    return urlunparse(url._replace(path=f"/{BENCH_REDIS_DB}"))


def bench_environment(*, queue: str = "tessera-bench") -> None:
    """Everything a benchmark writes goes somewhere of its own: `<database>_bench`, Redis
    database 1 (cache, broker, results) with its own key prefix, and its own Celery queue.
    Sharing the development Redis once left host-cache entries that pointed the development
    server at the benchmark's schemas (docs/benchmarks.md)."""
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ["REDIS_URL"] = bench_redis_url()
    for name in ("CACHE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(name, None)
    os.environ["CACHE_KEY_PREFIX"] = queue
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["TESSERA_SPARE_POOL_SIZE"] = "0"
    # Refill and report requests go to a queue no development worker consumes.
    os.environ["CELERY_QUEUE"] = queue


def database_recreate(url: str) -> None:
    """Drop (forcing out other sessions) and create the database `url` names."""
    import psycopg2
    from psycopg2 import sql

    parsed = urlparse(url)
    admin = psycopg2.connect(
        host=parsed.hostname, port=parsed.port, user=parsed.username, password=parsed.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = parsed.path.lstrip("/")
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


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


SYLLABLES = ["ka", "lo", "mi", "ter", "vos", "dan", "rel", "shu", "pra", "nek", "zor", "bil", "gam", "tiv"]


def filler(rng: random.Random) -> str:
    """A pseudo-word from a vocabulary of ~2,700: real text has many distinct words, so a
    search term matches a small share of tasks, not a third of them."""
    return "".join(rng.choice(SYLLABLES) for _ in range(3))


def text(rng: random.Random, words: int, real_share: float) -> str:
    """`words` words, each a real English/Russian product word with `real_share`
    probability, else filler."""
    out = []
    for _ in range(words):
        if rng.random() < real_share:
            out.append(rng.choice(RU_WORDS if rng.random() < 0.3 else EN_WORDS))
        else:
            out.append(filler(rng))
    return " ".join(out)


def title(rng: random.Random) -> str:
    return text(rng, 5, 0.06).capitalize()


def bench_django_setup(*, recreate: bool = True, queue: str = "tessera-bench") -> None:
    """Point Django at `<database>_bench` and set it up; with `recreate` (and on a second
    call) the database is dropped, created again and its shared schema migrated. `queue`:
    the Celery queue and cache key prefix (a benchmark's own, so two can run side by side)."""
    bench_environment(queue=queue)
    os.environ["DJANGO_DEBUG"] = "false"

    import logging

    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    logging.disable(logging.WARNING)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.ALLOWED_HOSTS = ["*"]
    if recreate:
        connection.close()
        database_recreate(os.environ["DATABASE_URL"])
        call_command("migrate_schemas", "--shared", verbosity=0)


class BenchOrganization:
    """Organisation `bench`: an owner, 49 members, 20 projects (everyone a Developer in
    each). `tasks_add` appends tasks to it, spread evenly over the projects."""

    # The default workflow states by position (To do, In progress, In review, Done,
    # Cancelled) and their categories: a task's status is its state's category.
    STATUSES = ["todo", "in_progress", "in_progress", "done", "cancelled"]

    def __init__(self, *, people: int = 50, projects: int = 20) -> None:
        from django_tenants.utils import schema_context

        from shared_apps.accounts.models import User
        from shared_apps.tenants.models import OrgRole
        from shared_apps.tenants.services import membership_add, organization_create
        from tenant_apps.members.models import Member
        from tenant_apps.projects.models import Role
        from tenant_apps.projects.services import project_create, project_member_set

        self.owner = User.objects.create_user(email="owner@bench.test", password="bench-pass-123")  # noqa: S106
        self.organization = organization_create(slug="bench", name="Bench", owner=self.owner)
        for index in range(people - 1):
            person = User.objects.create_user(email=f"p{index}@bench.test")
            membership_add(organization=self.organization, user=person, role=OrgRole.MEMBER)
        with schema_context(self.organization.schema_name):
            self.members = list(Member.objects.order_by("pk"))
            developer = Role.objects.get(name="Developer")
            self.projects = []
            for index in range(projects):
                project = project_create(key=f"P{index:02d}", name=f"Project {index}", actor=self.members[0])
                for member in self.members[1:]:
                    project_member_set(project=project, member=member, role=developer)
                self.projects.append(project)
        self.tasks = 0

    def tasks_add(self, count: int, rng: random.Random, *, done_share: float | None = None) -> float:
        """Insert `count` tasks (0-2 assignees each, created in the last 400 days) with
        plain SQL, then VACUUM ANALYZE. Statuses are uniform, or done with probability
        `done_share`; done tasks are completed 0-30 days after creation. Returns the
        seconds it took."""
        from django.db import connection
        from django_tenants.utils import schema_context
        from psycopg2.extras import execute_values

        from tenant_apps.projects.models import Project, WorkflowState
        from tenant_apps.tasks.ranks import rank_for_number

        started = time.perf_counter()
        now = datetime.now(tz=UTC)
        per_project = count // len(self.projects)
        members = self.members
        with schema_context(self.organization.schema_name), connection.cursor() as cursor:
            for project in self.projects:
                states = list(WorkflowState.objects.filter(project=project).order_by("position"))
                first = Project.objects.get(pk=project.pk).task_sequence + 1
                for start in range(first, first + per_project, 10_000):
                    rows = []
                    for number in range(start, min(start + 10_000, first + per_project)):
                        if done_share is None:
                            state = states[rng.randrange(len(self.STATUSES))]
                        else:
                            state = states[3] if rng.random() < done_share else states[rng.randrange(3)]
                        status = state.category
                        created = now - timedelta(seconds=rng.random() * 400 * 86400)
                        completed = None
                        if status == "done":
                            completed = min(now, created + timedelta(seconds=rng.random() * 30 * 86400))
                        rows.append(
                            (project.pk, number, title(rng), text(rng, 12, 0.03), state.pk, status, rng.randint(0, 4),
                             members[rng.randrange(len(members))].pk, 1, rank_for_number(number), created, completed)
                        )  # fmt: skip
                    ids = execute_values(
                        cursor,
                        "INSERT INTO tasks_task (project_id, number, title, description, state_id, status, priority, "
                        "reporter_id, version, rank, created_at, completed_at, updated_at) "
                        "SELECT v.*, now() FROM (VALUES %s) AS v RETURNING id",
                        rows,
                        template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::timestamptz, %s::timestamptz)",
                        fetch=True,
                    )
                    links = [
                        (task_id, members[index].pk)
                        for (task_id,) in ids
                        for index in rng.sample(range(len(members)), rng.randint(0, 2))
                    ]
                    if links:
                        execute_values(cursor, "INSERT INTO tasks_task_assignees (task_id, member_id) VALUES %s", links)
                Project.objects.filter(pk=project.pk).update(task_sequence=first + per_project - 1)
            # As autovacuum would soon after: hint bits and the visibility map set, so the
            # measurement sees a settled table, not the first read after a bulk load.
            cursor.execute("VACUUM ANALYZE")
        self.tasks += per_project * len(self.projects)
        return time.perf_counter() - started


def raw_sql_claim(spare, *, slug: str, owner) -> None:
    """The rows sign-up's claim writes, without Django's ORM (the raw-SQL baseline of the
    claim benchmarks): activate the spare, insert the domain, the membership and the
    tenant's member."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tenants_organization SET slug=%s, name=%s, status='active', activated_at=now() "
            "WHERE id = (SELECT id FROM tenants_organization WHERE status='spare' AND id=%s "
            "FOR UPDATE SKIP LOCKED)",
            [slug, "Bench", spare.pk],
        )
        cursor.execute(
            "INSERT INTO tenants_domain (domain, tenant_id, is_primary) VALUES (%s, %s, true)",
            [f"{slug}.localhost", spare.pk],
        )
        cursor.execute(
            "INSERT INTO tenants_membership (user_id, organization_id, role, created_at) "
            "VALUES (%s, %s, 'owner', now())",
            [owner.pk, spare.pk],
        )
        cursor.execute(
            f'INSERT INTO "{spare.schema_name}".members_member '
            "(user_id, email, display_name, role, is_active, language, joined_at, updated_at) "
            "VALUES (%s, %s, '', 'owner', true, '', now(), now())",
            [owner.pk, owner.email],
        )
