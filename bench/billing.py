"""What billing costs on the paths it joins, measured against its own floor.

Run with `.venv/bin/python platform/dev.py bench bench/billing.py [--rounds 60]`. Builds
its own database (`<DATABASE_URL's name>_bench`, dropped and recreated) with one
organisation on Team and measures, in one run, p50/p95 of

  projects     POST /api/v1/projects/ through the test client with billing off and on
               (on: the subscription row locked and active projects counted in the
               creating transaction), and the difference
  storage      limit_check(None, "storage_bytes") in a transaction with 0, 10,000 and
               100,000 attachments stored, against the same two statements in raw SQL
               (SELECT ... FOR UPDATE on the subscription, SUM(size) of attachments)
  webhook      a signed `customer.subscription.updated` POSTed to the webhook URL
               (signature check, event stored, processed with the row locked), against
               raw SQL writing the same two rows (INSERT event, UPDATE subscription)

and prints the ratios.
"""

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, database_recreate  # noqa: E402

SECRET = "whsec_bench"  # noqa: S105  (signs the benchmark's own payloads)


def _p(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def _row(name: str, samples: list[float], floor: list[float] | None = None) -> str:
    p50, p95 = _p(samples)
    if floor is None:
        return f"| {name} | {p50:.2f} | {p95:.2f} | |"
    return f"| {name} | {p50:.2f} | {p95:.2f} | {p50 / _p(floor)[0]:.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()

    bench_environment()
    os.environ["DJANGO_DEBUG"] = "false"
    database_recreate(os.environ["DATABASE_URL"])

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django_tenants.utils import schema_context
    from psycopg2.extras import execute_values

    from shared_apps.accounts.models import User
    from shared_apps.billing.limits import limit_check
    from shared_apps.billing.models import Plan, Subscription
    from shared_apps.tenants.services import organization_create
    from tenant_apps.members.models import Member
    from tenant_apps.projects.services import project_create
    from tenant_apps.tasks.services import task_create

    settings.ALLOWED_HOSTS = ["*"]
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_PRICE_IDS = {"team": "price_bench_team", "business": "price_bench_business"}
    call_command("migrate_schemas", "--shared", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.test", password="bench-pass-123")  # noqa: S106
    organization = organization_create(slug="bench", name="Bench", owner=owner)
    Plan.objects.filter(code="team").update(max_projects=100_000)
    Subscription.objects.filter(organization=organization).update(
        plan=Plan.objects.get(code="team"),
        status="active",
        trial_end=None,
        stripe_customer_id="cus_bench",
        stripe_subscription_id="sub_bench",
    )
    client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    client.force_login(owner)
    root = Client(HTTP_HOST=settings.BASE_DOMAIN)
    keys = iter(f"B{index}" for index in range(1_000_000))

    def create_project() -> float:
        key = next(keys)
        begin = time.perf_counter()
        response = client.post("/api/v1/projects/", {"key": key, "name": key}, content_type="application/json")
        elapsed = time.perf_counter() - begin
        assert response.status_code == 201, response.content[:300]
        return elapsed

    off, on = [], []
    for _warm in range(5):
        create_project()
    for _round in range(args.rounds):
        settings.STRIPE_SECRET_KEY = ""
        off.append(create_project())
        settings.STRIPE_SECRET_KEY = "sk_bench"  # noqa: S105  (turns billing on; Stripe is never called)
        on.append(create_project())

    with schema_context(organization.schema_name):
        creator = Member.objects.get(user_id=owner.pk)
        project = project_create(key="FILES", name="Files", actor=creator)
        task = task_create(project=project, actor=creator, title="Has files")

    def check_storage() -> float:
        with schema_context(organization.schema_name):
            begin = time.perf_counter()
            with transaction.atomic():
                limit_check(None, "storage_bytes", adding=1)
            return time.perf_counter() - begin

    def raw_storage() -> float:
        with schema_context(organization.schema_name), connection.cursor() as cursor:
            begin = time.perf_counter()
            with transaction.atomic():
                cursor.execute(
                    "SELECT id FROM public.billing_subscription WHERE organization_id = %s FOR UPDATE",
                    [organization.pk],
                )
                cursor.fetchone()
                cursor.execute("SELECT COALESCE(SUM(size), 0) FROM tasks_attachment")
                cursor.fetchone()
            return time.perf_counter() - begin

    storage_rows = []
    stored = 0
    for target in (0, 10_000, 100_000):
        with schema_context(organization.schema_name), connection.cursor() as cursor:
            rows = [
                (task.pk, creator.pk, f"f{index}.bin", "application/octet-stream", 1000, f"bench/{index}")
                for index in range(stored, target)
            ]
            for start in range(0, len(rows), 10_000):
                execute_values(
                    cursor,
                    "INSERT INTO tasks_attachment (task_id, uploaded_by_id, filename, content_type, size, "
                    "storage_key, created_at) SELECT v.*, now() FROM (VALUES %s) AS v",
                    rows[start : start + 10_000],
                )
            cursor.execute("VACUUM ANALYZE tasks_attachment")
        stored = target
        for _warm in range(3):
            check_storage()
            raw_storage()
        checks, raws = [], []
        for _round in range(args.rounds):
            checks.append(check_storage())
            raws.append(raw_storage())
        storage_rows.append((target, checks, raws))

    created = int(time.time())

    def deliver(index: int) -> float:
        event = {
            "id": f"evt_bench_{index}",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": created + index,
            "livemode": False,
            "data": {
                "object": {
                    "id": "sub_bench",
                    "object": "subscription",
                    "customer": "cus_bench",
                    "status": "active",
                    "cancel_at_period_end": False,
                    "metadata": {"organization": organization.schema_name},
                    "items": {
                        "data": [{"price": {"id": "price_bench_team"}, "current_period_end": created + 30 * 86400}]
                    },
                }
            },
        }
        body = json.dumps(event)
        stamp = int(time.time())
        digest = hmac.new(SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
        begin = time.perf_counter()
        response = root.post(
            "/billing/stripe/webhook/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={digest}",
        )
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, response.content[:300]
        assert not response.json()["replay"]
        return elapsed

    def raw_webhook(index: int) -> float:
        payload = json.dumps({"id": f"evt_raw_{index}"})
        with connection.cursor() as cursor:
            begin = time.perf_counter()
            with transaction.atomic():
                cursor.execute(
                    "INSERT INTO billing_webhookevent (stripe_event_id, type, livemode, stripe_created, payload, "
                    "received_at, outcome, error, attempts, processed_at) "
                    "VALUES (%s, 'customer.subscription.updated', false, now(), %s, now(), '', '', 1, now())",
                    [f"evt_raw_{index}", payload],
                )
                cursor.execute(
                    "UPDATE billing_subscription SET status = 'active', stripe_state_at = now(), updated_at = now() "
                    "WHERE organization_id = %s",
                    [organization.pk],
                )
            return time.perf_counter() - begin

    for index in range(5):
        deliver(index)
        raw_webhook(index)
    hooks, raw_hooks = [], []
    for index in range(5, 5 + args.rounds):
        hooks.append(deliver(index))
        raw_hooks.append(raw_webhook(index))

    print(f"\n{args.rounds} rounds each")
    print("| measure | p50 (ms) | p95 (ms) | ratio (p50) |")
    print("|---|---|---|---|")
    print(_row("POST /api/v1/projects/, billing off", off))
    print(_row("POST /api/v1/projects/, billing on", on, off))
    print(f"| billing's share of a project creation (p50) | {_p(on)[0] - _p(off)[0]:.2f} | | |")
    for target, checks, raws in storage_rows:
        print(_row(f"raw SQL: lock + SUM, {target} attachments", raws))
        print(_row(f"limit_check storage, {target} attachments", checks, raws))
    print(_row("raw SQL: insert event + update subscription", raw_hooks))
    print(_row("webhook: verify + store + process", hooks, raw_hooks))


if __name__ == "__main__":
    main()
