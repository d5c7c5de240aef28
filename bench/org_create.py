"""Organisation creation and no-op tenant migrations, with 1, 100 and 500 organisations.

Run with `make bench` (or `python platform/dev.py bench bench/org_create.py [LEVELS...]`).
Uses its own database (`<DATABASE_URL's name>_bench`, dropped and recreated), so
development data is untouched. Every figure is measured in this run, side by side:

  claim      organization_create() taking a spare from the pool
  direct     organization_create() with the pool empty (schema created and migrated)
  raw SQL    the same rows (org update, domain, membership, member) written with plain
             SQL inserts in one transaction: the floor any implementation pays
  migrate    a no-op `migrate_schemas --tenant` over every organisation, with the
             standard and the multiprocessing executor, and `migrate_tenants`, which
             skips current schemas after one SQL query
"""

import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, database_recreate, raw_sql_claim  # noqa: E402

LEVELS = [int(arg) for arg in sys.argv[1:]] or [1, 100, 500]
SAMPLES = 5


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    bench_environment()
    database_recreate(os.environ["DATABASE_URL"])

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)

    from django.core.management import call_command

    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import Organization
    from shared_apps.tenants.services import organization_create
    from shared_apps.tenants.spares import spare_create

    call_command("migrate_schemas", "--shared", verbosity=0)
    owner = User.objects.create_user(email="bench@example.test", password="bench")  # noqa: S106
    counter = iter(range(10**9))

    def next_slug() -> str:
        return f"bench-{next(counter)}"

    def create_active(count: int) -> None:
        for _index in range(count):
            spare_create()
            organization_create(slug=next_slug(), name="Bench", owner=owner)

    def raw_sql_create(spare: Organization) -> None:
        raw_sql_claim(spare, slug=next_slug(), owner=owner)

    def claim_once() -> float:
        spare_create()  # not timed: the pool job does this ahead of time
        return _timed(lambda: organization_create(slug=next_slug(), name="Bench", owner=owner))

    def raw_once() -> float:
        spare = spare_create()  # not timed, as for the claim
        return _timed(lambda: raw_sql_create(spare))

    def direct_once() -> float:
        return _timed(lambda: organization_create(slug=next_slug(), name="Bench", owner=owner))

    def migrate(*args: str) -> float:
        return _timed(lambda: call_command(*args, stdout=StringIO(), verbosity=0))

    rows = []
    for level in LEVELS:
        present = Organization.objects.exclude(schema_name="public").count()
        create_active(max(level - present, 0))
        claims = [claim_once() for _ in range(SAMPLES)]
        raws = [raw_once() for _ in range(SAMPLES)]
        directs = [direct_once() for _ in range(3)]
        tenants = Organization.objects.exclude(schema_name="public").count()
        standard = migrate("migrate_schemas", "--tenant", "--executor", "standard")
        multi = migrate("migrate_schemas", "--tenant", "--executor", "multiprocessing")
        skipping = migrate("migrate_tenants")
        rows.append(
            {
                "level": level,
                "tenants": tenants,
                "claim": statistics.median(claims),
                "raw": statistics.median(raws),
                "direct": statistics.median(directs),
                "standard": standard,
                "multi": multi,
                "skip": skipping,
            }
        )
        row = rows[-1]
        print(
            f"{level:>4} orgs present | create: claim {row['claim'] * 1000:7.1f} ms, "
            f"raw SQL {row['raw'] * 1000:6.1f} ms "
            f"(claim/raw {row['claim'] / row['raw']:4.1f}x), direct {row['direct'] * 1000:7.1f} ms "
            f"(direct/claim {row['direct'] / row['claim']:5.1f}x) | no-op migrate over {tenants} schemas: "
            f"standard {standard:6.2f} s, multiprocessing {multi:6.2f} s ({standard / multi:4.1f}x), "
            f"migrate_tenants {skipping:5.2f} s ({standard / skipping:5.1f}x)",
            flush=True,
        )

    print(
        "\n| orgs present | claim (ms) | raw SQL (ms) | claim / raw | direct (ms) | direct / claim "
        "| migrate standard (s) | multiprocessing (s) | migrate_tenants (s) | standard / skip |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['level']} | {row['claim'] * 1000:.1f} | {row['raw'] * 1000:.1f} "
            f"| {row['claim'] / row['raw']:.1f}x "
            f"| {row['direct'] * 1000:.0f} | {row['direct'] / row['claim']:.1f}x | {row['standard']:.2f} "
            f"| {row['multi']:.2f} | {row['skip']:.2f} | {row['standard'] / row['skip']:.0f}x |"
        )  # fmt: skip


if __name__ == "__main__":
    main()
