"""Load test: simulated users doing the everyday mix against the stack `make run` serves
(gunicorn, a real Celery worker and beat, supervised by platform/dev.py), with its Redis
killed once in the middle (the runner restarts it).

    make bench-load ARGS="--duration 300"

What it does:
1. starts `platform/dev.py run` on a database of its own (`<database>_bench`), its own
   embedded Redis, data directory (`.data/bench-load`) and free ports — the development
   stack and its data are not touched;
2. seeds ORGS organisations, each with people (10 by default) holding API tokens, two
   projects and tasks, then creates 50 tasks at once in one project (all must answer
   201, numbers gap-free);
3. runs USERS concurrent users (asyncio + httpx, one keep-alive connection each) for
   DURATION seconds; each loops over the mix (list with filters, search, open a task,
   comment, change status, assign) with no think time;
4. kills the stack's Redis at the half-way point (SIGKILL) and lets the runner bring it
   back;
5. prints requests/s and p50/p95/p99 per action, errors (refusals inside the outage
   window counted apart), then waits for the outbox to drain and checks the database:
   every event written during the run processed, no (event, recipient) notified twice,
   and every assignment's assignee notified exactly once.
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database_url, database_recreate, title

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = {"list": 30, "search": 15, "open": 25, "comment": 10, "status": 10, "assign": 10}
STATUSES = ["todo", "in_progress", "done"]
SEARCH_WORDS = ["login", "payment", "report", "search", "export", "mobile", "release", "поиск", "отчёт", "ошибку"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """`platform/dev.py run` as a subprocess; its log goes to a file in the data dir."""

    def __init__(self, env: dict[str, str], data: Path) -> None:
        self.env, self.data = env, data
        self.log_path = data / "runner.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "platform" / "dev.py"), "run"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_running(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while "Tessera is running" not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the stack did not start:\n{self.log_path.read_text()[-4000:]}")
            time.sleep(0.5)

    def redis_kill(self) -> None:
        os.kill(int((self.data / "redis" / "redis.pid").read_text()), signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def seed(orgs: int, people: int, tasks_per_project: int) -> list[dict]:
    """Organisations load-0..N with people, two projects each (everyone a Developer) and
    tasks; every person gets an API token. Runs in this process on the bench database."""
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from shared_apps.accounts.tokens import api_token_create
    from shared_apps.tenants.models import OrgRole
    from shared_apps.tenants.services import membership_add, organization_create
    from tenant_apps.members.models import Member
    from tenant_apps.notifications.models import Event
    from tenant_apps.projects.models import Role
    from tenant_apps.projects.services import project_create, project_member_set
    from tenant_apps.tasks.services import task_create

    rng = random.Random(7)
    world = []
    for index in range(orgs):
        owner = User.objects.create_user(email=f"owner@load-{index}.test")
        organization = organization_create(slug=f"load-{index}", name=f"Load {index}", owner=owner)
        users = [owner]
        for person in range(people - 1):
            user = User.objects.create_user(email=f"p{person}@load-{index}.test")
            membership_add(organization=organization, user=user, role=OrgRole.MEMBER)
            users.append(user)
        with schema_context(organization.schema_name):
            members = {member.user_id: member for member in Member.objects.all()}
            developer = Role.objects.get(name="Developer")
            keys = []
            for number in range(2):
                project = project_create(key=f"L{number}", name=f"Load {number}", actor=members[owner.pk])
                for member in members.values():
                    if member.user_id != owner.pk:
                        project_member_set(project=project, member=member, role=developer)
                for _ in range(tasks_per_project):
                    task_create(project=project, actor=members[owner.pk], title=title(rng))
                keys.append(project.key)
            last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        world.append(
            {
                "slug": organization.slug,
                "schema": organization.schema_name,
                "projects": keys,
                "tasks": tasks_per_project,
                "members": [members[user.pk].pk for user in users],
                "tokens": [api_token_create(user=user, name="load")[1] for user in users],
                "last_event": last_event,
            }
        )
    return world


class Recorder:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.outage_errors: dict[str, int] = defaultdict(int)
        self.outage: tuple[float, float] | None = None

    def error(self, action: str, at: float, what: str) -> None:
        start, end = self.outage or (float("inf"), float("inf"))
        if start <= at <= end:
            self.outage_errors[action] += 1
        else:
            self.errors[action].append(what)


async def user(client, org: dict, who: int, deadline: float, recorder: Recorder, rng: random.Random) -> None:
    import httpx

    headers = {"Authorization": f"Token {org['tokens'][who]}"}
    actions, weights = list(ACTIONS), list(ACTIONS.values())
    while time.monotonic() < deadline:
        action = rng.choices(actions, weights)[0]
        key = rng.choice(org["projects"])
        number = rng.randint(1, org["tasks"])
        task = f"/api/v1/projects/{key}/tasks/{number}/"
        if action == "list":
            status = rng.choice(STATUSES)
            request = ("GET", f"/api/v1/projects/{key}/tasks/", {"params": {"status": status, "ordering": "-updated"}})
        elif action == "search":
            request = ("GET", f"/api/v1/projects/{key}/tasks/", {"params": {"search": rng.choice(SEARCH_WORDS)}})
        elif action == "open":
            request = ("GET", task, {})
        elif action == "comment":
            request = ("POST", f"{task}comments/", {"json": {"body": f"Load comment {rng.random():.6f}"}})
        elif action == "status":
            request = ("PATCH", task, {"json": {"status": rng.choice(STATUSES)}})
        else:
            assignee = rng.choice(org["members"])
            request = ("PATCH", task, {"json": {"assignee_ids": [assignee]}})
        method, path, extra = request
        started = time.monotonic()
        try:
            response = await client.request(method, path, headers={**headers, "Host": org["host"]}, **extra)
            elapsed = time.monotonic() - started
            if response.status_code >= 400:
                recorder.error(action, started, f"{response.status_code} {method} {path}: {response.text[:200]}")
            else:
                recorder.latency[action].append(elapsed)
        except httpx.HTTPError as exc:
            recorder.error(action, started, f"{type(exc).__name__} {method} {path}")


async def load(world: list[dict], port: int, users: int, duration: float, stack: Stack, recorder: Recorder) -> float:
    import httpx

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) for _ in range(users)]
    started = time.monotonic()
    deadline = started + duration

    async def outage() -> None:
        await asyncio.sleep(duration / 2)
        down = time.monotonic()
        recorder.outage = (down, float("inf"))
        stack.redis_kill()
        print(f"[load] killed Redis at t={down - started:.0f}s", flush=True)
        # The window in which refusals are the outage's: until the runner restarted Redis
        # and the stack answers again (health), plus the workers' reconnect backoff.
        while "redis restarted" not in stack.log_path.read_text():
            await asyncio.sleep(0.2)
        back = time.monotonic()
        print(f"[load] Redis back after {back - down:.1f}s", flush=True)
        recorder.outage = (down, back + 10)

    tasks = [asyncio.create_task(outage())]
    for index, client in enumerate(clients):
        org = world[index % len(world)]
        who = (index // len(world)) % len(org["tokens"])
        tasks.append(asyncio.create_task(user(client, org, who, deadline, recorder, random.Random(index))))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    for client in clients:
        await client.aclose()
    return elapsed


async def burst(org: dict, port: int, count: int) -> str:
    """`count` task creations at once in one project (what runserver reset 6-12 of 50):
    every answer must be 201 and the numbers gap-free."""
    import httpx

    key = org["projects"][0]
    headers = {"Authorization": f"Token {org['tokens'][0]}", "Host": org["host"]}
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) for _ in range(count)]
    started = time.monotonic()

    async def create(client, index: int):
        try:
            response = await client.post(
                f"/api/v1/projects/{key}/tasks/", json={"title": f"Burst {index}"}, headers=headers
            )
            return response.status_code, response.json().get("number") if response.status_code == 201 else None
        except httpx.HTTPError as exc:
            return type(exc).__name__, None

    answers = await asyncio.gather(*(create(client, index) for index, client in enumerate(clients)))
    elapsed = time.monotonic() - started
    for client in clients:
        await client.aclose()
    statuses = defaultdict(int)
    for status, _number in answers:
        statuses[status] += 1
    numbers = sorted(number for _status, number in answers if number is not None)
    gap_free = bool(numbers) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    span = f"{key}-{numbers[0]}..{key}-{numbers[-1]}" if numbers else "none"
    return f"{count} concurrent creations in {elapsed:.1f} s: {dict(statuses)}, numbers {span}, gap-free: {gap_free}"


def verify(world: list[dict], seconds: float) -> dict:
    """After the run: wait for the outbox to drain, then count in the database."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import Event, Notification

    deadline = time.monotonic() + seconds
    while True:
        pending = 0
        for org in world:
            with schema_context(org["schema"]):
                pending += Event.objects.filter(pk__gt=org["last_event"], processed_at__isnull=True).count()
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(2)
    totals = defaultdict(int)
    for org in world:
        with schema_context(org["schema"]):
            events = Event.objects.filter(pk__gt=org["last_event"])
            totals["events"] += events.count()
            totals["unprocessed"] += events.filter(processed_at__isnull=True).count()
            totals["redispatched"] += events.filter(redispatched__gt=0).count()
            totals["notifications"] += Notification.objects.filter(event__in=events).count()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM (SELECT event_id, recipient_id FROM notifications_notification "
                    "WHERE event_id > %s GROUP BY 1, 2 HAVING count(*) > 1) AS doubled",
                    [org["last_event"]],
                )
                totals["doubled"] += cursor.fetchone()[0]
            for event_id, payload, actor_id in events.filter(kind="task.assigned").values_list(
                "pk", "payload", "actor_id"
            ):
                for member_id in payload.get("member_ids", []):
                    if member_id == actor_id:
                        continue
                    totals["assignments"] += 1
                    count = Notification.objects.filter(event_id=event_id, recipient_id=member_id).count()
                    if count != 1:
                        totals["assignments_not_notified_once"] += 1
    return dict(totals)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(recorder: Recorder, elapsed: float, users: int, orgs: int, checks: dict) -> str:
    lines = [
        f"{users} users over {orgs} organisations for {elapsed:.0f} s; Redis killed at half-time.",
        "",
        "| action | requests | req/s | p50 ms | p95 ms | p99 ms | errors | refused in outage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    everything: list[float] = []
    for action in ACTIONS:
        values = recorder.latency[action]
        everything += values
        if not values:
            continue
        lines.append(
            f"| {action} | {len(values)} | {len(values) / elapsed:.1f} | {statistics.median(values) * 1000:.0f} | "
            f"{percentile(values, 0.95) * 1000:.0f} | {percentile(values, 0.99) * 1000:.0f} | "
            f"{len(recorder.errors[action])} | {recorder.outage_errors[action]} |"
        )
    errors = sum(len(errors) for errors in recorder.errors.values())
    refused = sum(recorder.outage_errors.values())
    p50, p95, p99 = (statistics.median(everything), percentile(everything, 0.95), percentile(everything, 0.99))
    lines.append(
        f"| **all** | {len(everything)} | {len(everything) / elapsed:.1f} | {p50 * 1000:.0f} | {p95 * 1000:.0f} | "
        f"{p99 * 1000:.0f} | {errors} | {refused} |"
    )
    lines += ["", "Database afterwards: " + json.dumps(checks)]
    samples = [error for errors in recorder.errors.values() for error in errors[:3]]
    if samples:
        lines += ["", "Errors (first of each action):", *[f"- {sample}" for sample in samples]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--orgs", type=int, default=5)
    parser.add_argument("--people", type=int, default=10, help="people per organisation")
    parser.add_argument("--tasks", type=int, default=60, help="tasks per project (two projects each)")
    parser.add_argument("--burst", type=int, default=50, help="concurrent task creations before the mix")
    parser.add_argument("--gunicorn-workers", default=os.environ.get("GUNICORN_WORKERS", "3"))
    args = parser.parse_args()

    database_url = bench_database_url()
    database_recreate(database_url)
    data = ROOT / ".data" / "bench-load"
    data.mkdir(parents=True, exist_ok=True)
    for stale in ("redis", "celerybeat-schedule"):
        subprocess.run(["rm", "-rf", str(data / stale)], check=True)
    web_port, redis_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DATABASE_URL=database_url,
        TESSERA_REDIS_PORT=str(redis_port),
        TESSERA_PORT=str(web_port),
        TESSERA_DATA_DIR=str(data),
        TESSERA_MEDIA_ROOT=tempfile.mkdtemp(prefix="tessera-load-media-"),
        TESSERA_SPARE_POOL_SIZE="0",
        GUNICORN_WORKERS=args.gunicorn_workers,
        DJANGO_DEBUG="false",
        DJANGO_LOG_LEVEL="WARNING",
        # Events whose message was lost in the outage are re-sent after 10 s, not 60 s, so
        # the check afterwards does not wait minutes.
        TESSERA_PERIODIC_SWEEP_SECONDS="10",
        TESSERA_OUTBOX_REDISPATCH_SECONDS="10",
        TESSERA_EMAIL_DIGEST_SECONDS="0",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    print(f"[load] starting the stack on :{web_port} (Redis :{redis_port}, log {data / 'runner.log'})", flush=True)
    stack = Stack(env, data)
    try:
        stack.wait_running(600)
        os.environ.update(env, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
        import logging

        import django

        django.setup()
        logging.disable(logging.WARNING)
        seeded = time.monotonic()
        world = seed(args.orgs, args.people, args.tasks)
        for org in world:
            org["host"] = f"{org['slug']}.localhost:{web_port}"
        print(f"[load] seeded {args.orgs} organisations in {time.monotonic() - seeded:.0f}s", flush=True)
        # Let the seed's own notifications drain before the clock starts.
        verify(world, 60)
        for org in world:
            from django_tenants.utils import schema_context

            from tenant_apps.notifications.models import Event

            with schema_context(org["schema"]):
                org["last_event"] = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        burst_result = asyncio.run(burst(world[0], web_port, args.burst))
        print(f"[load] {burst_result}", flush=True)
        recorder = Recorder()
        elapsed = asyncio.run(load(world, web_port, args.users, args.duration, stack, recorder))
        checks = verify(world, 180)
        restarts = re.findall(r"\[dev\] (\w+) exited with status (-?\d+)", stack.log_path.read_text())
        checks["runner_restarts"] = [f"{name}:{status}" for name, status in restarts]
        checks["worker_unrecoverable_errors"] = stack.log_path.read_text().count("Unrecoverable error")
        print(report(recorder, elapsed, args.users, args.orgs, checks), flush=True)
        print(f"\nBurst before the mix: {burst_result}", flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
