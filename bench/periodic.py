"""Periodic work at 100 / 1,000 / ... organisations, nearly all idle (issue 16, item 1).

Run with `.venv/bin/python platform/dev.py bench bench/periodic.py [--levels 100,1000]
[--active 0.01] [--product-path 20]`. Uses its own database (`<DATABASE_URL's
name>_periodic_bench`, dropped and recreated). The first `--product-path` organisations
are created through the product's path (`organization_create`, the pool empty: each
schema migrated, ~1-7 s each on this shared machine); the others copy the first one's
tables (`_clone`), which is what the sweeps read. At each level it measures
the worker time one minute of beat costs, executing the task bodies in this process (as
a worker would, without Celery's per-message overhead, so the old figure is a floor):

  before  what beat sent every minute until now: `notifications.outbox_sweep` in every
          organisation, `reports.sweep` (one task visiting every organisation), and a
          fifteenth of the organisations' `notifications.due_soon_scan` (every 15 min)
  after   `periodic.sweep` (the organisations with work due only), plus a 360th of
          `periodic.backstop` (every organisation; run every 6 hours when measured,
          once a day by default now: divide its share by four)

with every organisation idle, and with `--active` of them having an event waiting (its
mark due).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database_url, database_recreate  # noqa: E402

BACKSTOP_RUNS_PER_MINUTE = 1 / 360  # every 6 hours (TESSERA_PERIODIC_BACKSTOP_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="100,1000")
    parser.add_argument("--active", type=float, default=0.01, help="share of organisations with work due")
    parser.add_argument(
        "--product-path",
        type=int,
        default=20,
        help="how many organisations organization_create() makes (the rest are copies of the first)",
    )
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]

    os.environ["DATABASE_URL"] = bench_database_url().removesuffix("_bench") + "_periodic_bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["TESSERA_SPARE_POOL_SIZE"] = "0"
    os.environ["CELERY_QUEUE"] = "tessera-bench"
    os.environ["DJANGO_DEBUG"] = "false"
    database_recreate(os.environ["DATABASE_URL"])

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)

    from django.core.management import call_command

    call_command("migrate_schemas", "--shared", verbosity=0)
    _run(levels, args.active, args.product_path)


def _clone(template, start: int, stop: int) -> None:
    """Organisations `start`..`stop - 1` as copies of `template`'s tables (CREATE TABLE
    ... LIKE ... INCLUDING ALL: columns, defaults, identities, constraints, indexes; no
    rows, triggers or migrations recorded), in minutes instead of the hours migrating
    10,000 schemas takes on this machine. Enough for what the sweeps read."""
    from django.db import connection, transaction

    from shared_apps.tenants.models import Organization

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'django_migrations'",
            [template.schema_name],
        )
        tables = [row[0] for row in cursor.fetchall()]
    for index in range(start, stop):
        schema = f"org_clone{index:05d}"
        with transaction.atomic(), connection.cursor() as cursor:
            statements = [f'CREATE SCHEMA "{schema}"'] + [
                f'CREATE TABLE "{schema}"."{table}" (LIKE "{template.schema_name}"."{table}" INCLUDING ALL)'
                for table in tables
            ]
            cursor.execute(";".join(statements))
            Organization.objects.bulk_create(
                [
                    Organization(
                        schema_name=schema,
                        slug=f"p{index:05d}",
                        name=f"Periodic {index}",
                        status=Organization.Status.ACTIVE,
                    )
                ]
            )


def _run(levels: list[int], active_share: float, product_path: int) -> None:
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import Organization, PendingWork
    from shared_apps.tenants.services import organization_create
    from tenant_apps.notifications import periodic, tasks
    from tenant_apps.notifications.models import Event, EventKind
    from tenant_apps.notifications.processing import outbox_sweep_here
    from tenant_apps.notifications.services import due_soon_record, event_record
    from tenant_apps.reports.tasks import reports_sweep_task

    tasks.send_in_schema = lambda *args, **kwargs: None  # no broker traffic: measure the work
    settings.NOTIFICATIONS_REDISPATCH_SECONDS = 0
    owner = User.objects.create_user(email="owner@periodic.test", password="bench-pass-123")  # noqa: S106
    created = 0
    creation_seconds = 0.0
    print(
        "| organisations | created in (s) | before: per-org beat (s/min) | after, all idle (s/min) |"
        f" after, {active_share:.0%} active (s/min) | backstop pass (s) | before / after (idle) |"
    )
    print("|---|---|---|---|---|---|---|")
    for level in levels:
        begin = time.perf_counter()
        while created < min(level, product_path):
            organization_create(slug=f"p{created:05d}", name=f"Periodic {created}", owner=owner)
            created += 1
        if created < level:
            _clone(Organization.objects.get(slug="p00000"), created, level)
            created = level
        creation_seconds += time.perf_counter() - begin
        organizations = list(
            Organization.objects.exclude(status=Organization.Status.SPARE).exclude(
                schema_name=settings.PUBLIC_SCHEMA_NAME
            )
        )
        # Settle every mark the creations left (owners' events...), so all start idle.
        periodic.periodic_backstop()
        for organization in organizations:
            with tenant_context(organization):
                Event.objects.all().delete()
        PendingWork.objects.all().delete()

        def before(organizations: list = organizations) -> float:
            begin = time.perf_counter()
            for organization in organizations:
                with tenant_context(organization):
                    outbox_sweep_here()
            reports_sweep_task.run()
            for organization in organizations[: max(1, len(organizations) // 15)]:
                with tenant_context(organization):
                    due_soon_record()
            return time.perf_counter() - begin

        def after() -> float:
            begin = time.perf_counter()
            periodic.periodic_sweep()
            return time.perf_counter() - begin

        before()  # warm
        old = min(before() for _ in range(2))
        idle = min(after() for _ in range(5))
        begin = time.perf_counter()
        checked = periodic.periodic_backstop()["organizations"]
        backstop = time.perf_counter() - begin
        assert checked == len(organizations), f"the backstop failed in {len(organizations) - checked} organisations"
        active_times = []
        for _ in range(3):
            for organization in organizations[: max(1, int(len(organizations) * active_share))]:
                with tenant_context(organization):
                    event_record(kind=EventKind.ASSIGNED, actor=None)
            active_times.append(after())
            for organization in organizations:  # processed, as a worker would
                with tenant_context(organization):
                    Event.objects.all().delete()
            periodic.periodic_sweep()  # the marks settle
        active = min(active_times)
        per_minute_idle = idle + backstop * BACKSTOP_RUNS_PER_MINUTE
        per_minute_active = active + backstop * BACKSTOP_RUNS_PER_MINUTE
        print(
            f"| {len(organizations)} | {creation_seconds:.0f} | {old:.2f} | {per_minute_idle:.3f} |"
            f" {per_minute_active:.3f} | {backstop:.1f} | {old / per_minute_idle:.0f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
