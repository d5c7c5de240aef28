"""Notifications on one real Celery worker process: events processed per second and the
delay from commit to the in-app notification row, against the same writes done with
plain SQL in the same run.

Run with `.venv/bin/python platform/dev.py bench bench/notify.py [--events 10000]
[--organizations 10] [--members 5] [--concurrency 1] [--rate 0] [--backlog] [--batch 200] [--profile]`.
Builds its own database (`<DATABASE_URL's name>_notify_bench`, dropped and recreated) with N
organisations (an owner, 5 members and a project each), starts one `celery worker`
process (solo pool unless --concurrency > 1),
then commits the events one transaction each — "task WEB-1 was assigned to you", round
robin over the organisations and their members, written by `event_record` exactly as the
task service writes them (outbox row + enqueue on commit) — while the worker processes
them: recipients, permissions, preferences, in-app notification, email delivery (sent at
once through Django's dummy email backend, so mail is built but not stored).

  worker  events per second from the first commit to the last notification row, and
          p50/p95/max of (notification.created_at - commit time)
  raw     the same rows for the same number of events written by psycopg2, one
          transaction per event (lock the event, insert the notification and the email
          delivery, mark the event processed): the floor of the database work; and the
          same in batches of --batch events per transaction (claim with SKIP LOCKED, one
          INSERT per table, one UPDATE): the floor of batched processing

`--backlog` commits every event before the worker starts (the producer, one process
committing one transaction per event, is then not what is measured): throughput from
the first notification row to the last. `--profile` runs no worker: it processes the
committed events in the bench process under cProfile and prints time and SQL statements
per event and the top of the profile.

and prints both and their ratio.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402

from bench.common import bench_database_url, bench_django_setup  # noqa: E402

# Its own queue: bench/report.py's worker, on "tessera-bench", may run beside it.
QUEUE = "tessera-bench-notify"


class BuildingEmailBackend(BaseEmailBackend):
    """What the SMTP backend does before the network (DJANGO_EMAIL_BACKEND, in the worker
    too): each message built into its bytes — MIME parts, encoded headers and bodies —
    then dropped."""

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            message.message().as_bytes(linesep="\r\n")
        return len(email_messages)


def _organizations(count: int, people: int) -> list[dict]:
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import OrgRole
    from shared_apps.tenants.services import membership_add, organization_create
    from tenant_apps.members.models import Member
    from tenant_apps.projects.models import Role
    from tenant_apps.projects.services import project_create, project_member_set
    from tenant_apps.tasks.services import task_create

    organizations = []
    for index in range(count):
        owner = User.objects.create_user(email=f"owner@n{index}.test")
        organization = organization_create(slug=f"notify{index}", name=f"Notify {index}", owner=owner)
        for person in range(people):
            user = User.objects.create_user(email=f"p{person}@n{index}.test")
            membership_add(organization=organization, user=user, role=OrgRole.MEMBER)
        with schema_context(organization.schema_name):
            members = list(Member.objects.order_by("pk"))
            project = project_create(key="WEB", name="Website", actor=members[0])
            developer = Role.objects.get(name="Developer")
            for member in members[1:]:
                project_member_set(project=project, member=member, role=developer)
            task = task_create(project=project, actor=members[0], title="Notify me")
        organizations.append({"organization": organization, "owner": members[0], "members": members[1:], "task": task})
    return organizations


def _worker_start(concurrency: int) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_LOG_LEVEL="WARNING", PYTHONWARNINGS="ignore")
    pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork", "--concurrency", str(concurrency)]
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", *pool, "--loglevel", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", QUEUE],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _fire(organizations: list[dict], events: int, rate: float) -> dict[tuple[str, int], float]:
    """Commit `events` events round robin, at most `rate` per second (0: as fast as
    possible); {(schema, event id): commit time}."""
    from django.db import transaction
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import EventKind
    from tenant_apps.notifications.services import event_record

    committed = {}
    started = time.time()
    for number in range(events):
        org = organizations[number % len(organizations)]
        recipient = org["members"][(number // len(organizations)) % len(org["members"])]
        schema = org["organization"].schema_name
        with schema_context(schema):
            with transaction.atomic():
                event = event_record(
                    kind=EventKind.ASSIGNED,
                    actor=org["owner"],
                    task=org["task"],
                    payload={"member_ids": [recipient.pk]},
                )
            committed[(schema, event.pk)] = time.time()
        if rate:
            time.sleep(max(0.0, started + (number + 1) / rate - time.time()))
    return committed


def _wait_processed(organizations: list[dict], expected: int, timeout: float) -> None:
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import Notification

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = 0
        for org in organizations:
            with schema_context(org["organization"].schema_name):
                done += Notification.objects.count()
        if done >= expected:
            return
        time.sleep(0.5)
    raise SystemExit(f"only {done} of {expected} notifications after {timeout:.0f} s")


def _wait_sent(organizations: list[dict], expected: int, timeout: float) -> None:
    """Until every event's email has been sent (one recipient per event)."""
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import DeliveryStatus, EmailDelivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = 0
        for org in organizations:
            with schema_context(org["organization"].schema_name):
                done += EmailDelivery.objects.filter(status=DeliveryStatus.SENT).count()
        if done >= expected:
            return
        time.sleep(0.5)
    raise SystemExit(f"only {done} of {expected} emails sent after {timeout:.0f} s")


def _delays(organizations: list[dict], committed: dict) -> tuple[list[float], float, list[float], float]:
    """Delays in ms from commit to the notification row and to the email's sending, and
    the last of each."""
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import EmailDelivery, Notification

    delays, last, email_delays, last_sent = [], 0.0, [], 0.0
    for org in organizations:
        schema = org["organization"].schema_name
        with schema_context(schema):
            for event_id, created_at in Notification.objects.values_list("event_id", "created_at"):
                created = created_at.timestamp()
                delays.append((created - committed[(schema, event_id)]) * 1000)
                last = max(last, created)
            for event_id, sent_at in EmailDelivery.objects.values_list("event_id", "sent_at"):
                sent = sent_at.timestamp()
                email_delays.append((sent - committed[(schema, event_id)]) * 1000)
                last_sent = max(last_sent, sent)
    return delays, last, email_delays, last_sent


def _created(organizations: list[dict]) -> list[float]:
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import Notification

    created = []
    for org in organizations:
        with schema_context(org["organization"].schema_name):
            created += [at.timestamp() for at in Notification.objects.values_list("created_at", flat=True)]
    return created


def _raw(organizations: list[dict], events: int) -> float:
    """Seconds to do the processing's writes for `events` events with plain SQL."""
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import Event, EventKind

    by_schema = {}
    for org in organizations:
        with schema_context(org["organization"].schema_name):
            rows = [
                Event(kind=EventKind.ASSIGNED, actor=org["owner"], task=org["task"], payload={"raw": True})
                for _ in range(events // len(organizations))
            ]
            by_schema[org["organization"].schema_name] = (
                [event.pk for event in Event.objects.bulk_create(rows)],
                org["members"],
            )
    started = time.perf_counter()
    for schema, (event_ids, members) in by_schema.items():
        with schema_context(schema), connection.cursor() as cursor:
            for number, event_id in enumerate(event_ids):
                member = members[number % len(members)]
                with transaction.atomic():
                    cursor.execute("SELECT id FROM notifications_event WHERE id = %s FOR UPDATE", [event_id])
                    cursor.execute(
                        "INSERT INTO notifications_notification (recipient_id, event_id, created_at) "
                        "VALUES (%s, %s, now()) ON CONFLICT DO NOTHING",
                        [member.pk, event_id],
                    )
                    cursor.execute(
                        "INSERT INTO notifications_emaildelivery (recipient_id, event_id, status, attempts, "
                        "next_attempt_at, last_error, created_at) VALUES (%s, %s, 'pending', 0, now(), '', now()) "
                        "ON CONFLICT DO NOTHING",
                        [member.pk, event_id],
                    )
                    cursor.execute("UPDATE notifications_event SET processed_at = now() WHERE id = %s", [event_id])
    return time.perf_counter() - started


def _profile(organizations: list[dict], events: int, batch: int) -> None:
    """Process the committed backlog in this process under cProfile, as the worker's
    tasks would (no Celery in between; their after-commit publishes are counted): time
    and SQL statements per event, split into the outbox and the emails, and where the
    time went. `batch` 0: each organisation's backlog drained, then its emails (digests);
    N: batches of N events, each followed by its emails (a steady rate, where every
    batch is small and most emails hold one event)."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from tenant_apps.notifications import emails, processing
    from tenant_apps.notifications.models import DeliveryStatus, EmailDelivery

    def send_due() -> None:
        due = EmailDelivery.objects.filter(status=DeliveryStatus.PENDING).values_list("recipient_id", flat=True)
        emails.deliveries_send_many(sorted(set(due)))

    profiler = cProfile.Profile()
    statements, outbox_seconds, email_seconds = 0, 0.0, 0.0
    started = time.perf_counter()
    for org in organizations:
        with schema_context(org["organization"].schema_name), CaptureQueriesContext(connection) as captured:
            profiler.enable()
            while True:
                step = time.perf_counter()
                ids = processing.events_process_batch(limit=batch) if batch else processing.outbox_drain()["processed"]
                outbox_seconds += time.perf_counter() - step
                step = time.perf_counter()
                send_due()
                email_seconds += time.perf_counter() - step
                if not batch or not ids:
                    break
            profiler.disable()
        statements += len(captured) - 1
    elapsed = time.perf_counter() - started
    print(
        f"\nprofile ({f'batches of {batch}' if batch else 'backlog drained'}): {events} events in {elapsed:.1f} s, "
        f"{elapsed * 1000 / events:.2f} ms and {statements / events:.2f} SQL statements per event "
        f"({events / elapsed:.0f}/s in-process); outbox {outbox_seconds * 1000 / events:.2f} ms, "
        f"emails {email_seconds * 1000 / events:.2f} ms per event"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())


def _raw_batched(organizations: list[dict], events: int, batch: int) -> float:
    """Seconds to do the same writes with plain SQL in batches of `batch` events per
    transaction (claim with SKIP LOCKED, one INSERT per table, one UPDATE): the floor of
    what batched processing does."""
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from tenant_apps.notifications.models import Event, EventKind

    by_schema = {}
    for org in organizations:
        with schema_context(org["organization"].schema_name):
            rows = [
                Event(kind=EventKind.ASSIGNED, actor=org["owner"], task=org["task"], payload={"raw": True})
                for _ in range(events // len(organizations))
            ]
            Event.objects.bulk_create(rows)
            by_schema[org["organization"].schema_name] = [member.pk for member in org["members"]]
    started = time.perf_counter()
    for schema, member_ids in by_schema.items():
        with schema_context(schema), connection.cursor() as cursor:
            while True:
                with transaction.atomic():
                    cursor.execute(
                        "SELECT id FROM notifications_event WHERE processed_at IS NULL ORDER BY id "
                        "LIMIT %s FOR UPDATE SKIP LOCKED",
                        [batch],
                    )
                    ids = [row[0] for row in cursor.fetchall()]
                    if not ids:
                        break
                    recipients = [member_ids[number % len(member_ids)] for number in range(len(ids))]
                    cursor.execute(
                        "INSERT INTO notifications_notification (recipient_id, event_id, created_at) "
                        "SELECT r, e, now() FROM unnest(%s::int[], %s::bigint[]) AS t(r, e) ON CONFLICT DO NOTHING",
                        [recipients, ids],
                    )
                    cursor.execute(
                        "INSERT INTO notifications_emaildelivery (recipient_id, event_id, status, attempts, "
                        "next_attempt_at, last_error, created_at) SELECT r, e, 'pending', 0, now(), '', now() "
                        "FROM unnest(%s::int[], %s::bigint[]) AS t(r, e) ON CONFLICT DO NOTHING",
                        [recipients, ids],
                    )
                    cursor.execute("UPDATE notifications_event SET processed_at = now() WHERE id = ANY(%s)", [ids])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--organizations", type=int, default=10)
    parser.add_argument(
        "--members",
        type=int,
        default=5,
        help="members per organisation, the recipients round robin (200: every email of a batch a message of its own)",
    )
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0, help="events per second to commit (0: flat out)")
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="commit every event first, then start the worker: its throughput whatever the producer's",
    )
    parser.add_argument("--batch", type=int, default=200, help="events per transaction of the batched raw SQL")
    parser.add_argument(
        "--profile", action="store_true", help="commit the events, then process them in this process under cProfile"
    )
    parser.add_argument(
        "--profile-batch",
        type=int,
        default=0,
        help="with --profile: batches of N events, each followed by its emails (0: drain, then the emails)",
    )
    args = parser.parse_args()

    os.environ["DJANGO_EMAIL_BACKEND"] = "bench.notify.BuildingEmailBackend"
    os.environ["TESSERA_EMAIL_DIGEST_SECONDS"] = "0"
    # `<database>_notify_bench`: not bench/report.py's `<database>_bench`, whose million
    # tasks are kept for its --reuse runs.
    os.environ["DATABASE_URL"] = bench_database_url().removesuffix("_bench") + "_notify"
    bench_django_setup(queue=QUEUE)
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(QUEUE)

    started = time.perf_counter()
    organizations = _organizations(args.organizations, args.members)
    print(f"{args.organizations} organisations in {time.perf_counter() - started:.0f} s", flush=True)

    if args.profile:
        _fire(organizations, args.events, 0)
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete(QUEUE)  # no worker: the committed events' messages
        _profile(organizations, args.events, args.profile_batch)
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete(QUEUE)
        return
    worker = None if args.backlog else _worker_start(args.concurrency)
    try:
        if worker is not None:
            time.sleep(5)  # the worker is up before the first commit
        fire_started = time.time()
        committed = _fire(organizations, args.events, args.rate)
        fire_seconds = time.time() - fire_started
        print(f"committed {args.events} events in {fire_seconds:.1f} s", flush=True)
        if worker is None:
            worker = _worker_start(args.concurrency)
        _wait_processed(organizations, args.events, timeout=3600)
        _wait_sent(organizations, args.events, timeout=3600)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    delays, last, email_delays, last_sent = _delays(organizations, committed)
    if args.backlog:
        # From the first notification row: the worker's start-up left out.
        first = min(created for created in _created(organizations))
        worker_seconds = (last - first) * args.events / max(1, args.events - 1)
        email_seconds = (last_sent - first) * args.events / max(1, args.events - 1)
    else:
        worker_seconds = last - fire_started
        email_seconds = last_sent - fire_started
    raw_seconds = _raw(organizations, args.events)
    raw_batched_seconds = _raw_batched(organizations, args.events, args.batch)

    def spread(values: list[float]) -> str:
        values = sorted(values)
        return f"{statistics.median(values):.0f} / {values[int(len(values) * 0.95) - 1]:.0f} / {values[-1]:.0f}"

    worker_rate = args.events / worker_seconds
    email_rate = args.events / email_seconds
    raw_rate = args.events / raw_seconds
    raw_batched_rate = args.events / raw_batched_seconds
    pool = "solo" if args.concurrency == 1 else f"prefork x{args.concurrency}"
    pace = "backlog (committed first)" if args.backlog else f"{args.rate:g}/s" if args.rate else "flat out"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    span = "first notification → last" if args.backlog else "first commit → last"
    when = f"{datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC"
    print(f"\n{when}, {args.events} events ({pace}), {args.organizations} orgs, {pool}, load average {load}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| producer: events committed per second | {args.events / fire_seconds:.0f} |")
    print(f"| worker: events processed per second, notification rows ({span} row) | {worker_rate:.0f} |")
    print(f"| worker: events handled per second, rows and emails sent ({span} email) | {email_rate:.0f} |")
    print(f"| delay commit → notification row p50 / p95 / max (ms) | {spread(delays)} |")
    print(f"| delay commit → email sent p50 / p95 / max (ms) | {spread(email_delays)} |")
    print(f"| raw SQL: same writes per second (one transaction per event) | {raw_rate:.0f} |")
    print(f"| raw / worker (rows and emails) | {raw_rate / email_rate:.1f}x |")
    print(f"| raw SQL: same writes per second (batches of {args.batch}) | {raw_batched_rate:.0f} |")
    print(f"| raw batched / worker (rows and emails) | {raw_batched_rate / email_rate:.1f}x |")


if __name__ == "__main__":
    main()
