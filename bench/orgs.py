"""Many organisations on one PostgreSQL, built through the product's own path, measured
at each level (issue 16, item 2).

Run with `make bench-orgs LEVELS="1 1000 10000"` (or `python platform/dev.py bench
bench/orgs.py [LEVELS...]`). Uses its own database (`<DATABASE_URL's name>_bench`,
dropped and recreated). Organisations are made the way sign-up makes them: the pool job
(`spare_pool_fill`, cloning the template schema) creates spares, `organization_create`
claims one. `--reuse` measures, without building, what an earlier (interrupted) run
left in the benchmark database. At each level it prints, side by side:

  spare      ms per spare while the pool job refills (clone of the template schema);
             at the first level also ms per spare migrated the old way (no template)
  claim      organization_create() taking a spare (median of 15), and the same rows
             written with raw SQL in the same run (the floor)
  request    GET /api/v1/tasks/ of one organisation (50 people, 20 projects, 2,000 tasks,
             always the same one; median of 40), and a `SELECT 1` round trip in the
             same run (how loaded the machine is)
  host       the host -> organisation lookup, cold (cache entry dropped: one query)
             and warm (cached)
  migrate    a no-op `migrate_tenants` over every schema
  catalogue  pg_class rows, the system catalogue's size, the database's size
  memory     a backend's memory (pg_backend_memory_contexts) after serving requests
             of one organisation, and of a connection that touched 50 organisations

Before a level it estimates the disk the level needs from the schemas already built and
stops with a message if that exceeds BENCH_ORGS_MAX_GB (default 15).
"""

import os
import shutil
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup, raw_sql_claim  # noqa: E402

# --reuse: measure the organisations an earlier (interrupted) run left, without building.
REUSE = "--reuse" in sys.argv
LEVELS = [int(arg) for arg in sys.argv[1:] if arg.isdigit()] or ([] if REUSE else [1, 1000, 10000])
MAX_BYTES = float(os.environ.get("BENCH_ORGS_MAX_GB", "15")) * 1024**3
BATCH = 50


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _option(name: str, default: str | None = None) -> str | None:
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def _build_worker(target: int, worker: int) -> None:
    """One builder process: a spare made by the pool job's own function (`spare_create`,
    a clone of the template), then claimed by sign-up's `organization_create`, until the
    database holds `target` organisations."""
    bench_django_setup(recreate=False)
    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import Organization
    from shared_apps.tenants.services import organization_create
    from shared_apps.tenants.spares import spare_create

    owner = User.objects.get(email="signup@bench.test")
    run = f"{int(time.time()):x}"
    number = 0
    while Organization.objects.exclude(schema_name="public").count() < target:
        spare_create()
        organization_create(slug=f"o-{run}-{worker}-{number}", name="Bench", owner=owner)
        number += 1


def build_organizations(target: int, workers: int, log_path: Path) -> None:
    """Grow the benchmark database to `target` organisations with `workers` builder
    processes (`spare_pool_fill` itself creates one spare at a time under its lock, so
    parallel builders call the function it calls per spare), logging the time per 1,000
    to `log_path`. With --reuse it continues what an earlier build left."""
    import subprocess

    original_url = os.environ["DATABASE_URL"]
    bench_django_setup(recreate=not REUSE)
    from django.db import connection

    from shared_apps.accounts.models import User
    from shared_apps.tenants import template
    from shared_apps.tenants.models import Organization

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message} | load {_load()}"
        print(line, flush=True)
        with log_path.open("a") as out:
            out.write(line + "\n")

    started = time.perf_counter()
    if not User.objects.filter(email="signup@bench.test").exists():
        import random

        template_seconds = _timed(template.template_refresh)
        bench = BenchOrganization()
        bench.tasks_add(2000, random.Random(16))
        User.objects.create_user(email="signup@bench.test", password="bench")  # noqa: S106
        log(f"set up: template {template_seconds:.1f} s, organisation bench with 2,000 tasks")

    def grow(level: int) -> None:
        present = Organization.objects.exclude(schema_name="public").count()
        log(f"build to {level} with {workers} processes, from {present}")
        connection.close()
        environment = {**os.environ, "DATABASE_URL": original_url}
        processes = [
            subprocess.Popen([sys.executable, __file__, "--build-worker", str(level), str(worker)], env=environment)
            for worker in range(workers)
        ]
        level_started = time.perf_counter()
        last_count, last_time, next_mark = present, level_started, (present // 1000 + 1) * 1000
        while any(process.poll() is None for process in processes):
            time.sleep(5)
            count = Organization.objects.exclude(schema_name="public").count()
            connection.close()
            if count >= next_mark:
                now = time.perf_counter()
                log(
                    f"{count} organisations: {now - last_time:.0f} s for the last {count - last_count} "
                    f"({(now - last_time) / max(count - last_count, 1) * 1000:.0f} ms each), "
                    f"{now - started:.0f} s in all"
                )
                last_count, last_time, next_mark = count, now, (count // 1000 + 1) * 1000
        failed = [process.returncode for process in processes if process.returncode]
        count = Organization.objects.exclude(schema_name="public").count()
        seconds = time.perf_counter() - level_started
        log(
            f"at {count} organisations: {count - present} made in {seconds:.0f} s "
            f"({seconds / max(count - present, 1) * 1000:.0f} ms each), {time.perf_counter() - started:.0f} s in all"
            + (f"; builder exit codes {failed}" if failed else "")
        )
        if failed:
            raise SystemExit(f"builders failed: {failed}")

    for level in sorted({*SNAPSHOTS, target}):
        if Organization.objects.exclude(schema_name="public").count() < level:
            grow(level)
        count = Organization.objects.exclude(schema_name="public").count()
        if level in SNAPSHOTS and count < level + workers:
            begin = time.perf_counter()
            if _snapshot(level):
                log(f"snapshot {_snapshot_name(level)} of {count} organisations in {time.perf_counter() - begin:.0f} s")


# The levels measured side by side with the built database: copies of it taken on the way
# (CREATE DATABASE ... TEMPLATE), so that each holds the same `bench` organisation.
SNAPSHOTS = (1, 1000)


def _snapshot_name(level: int) -> str:
    from django.db import connection

    return f"{connection.settings_dict['NAME']}_{level}"


def _snapshot(level: int) -> bool:
    """Copy the benchmark database as `<name>_<level>`, unless that copy exists already."""
    import psycopg2
    from django.db import connection
    from psycopg2 import sql

    name = _snapshot_name(level)
    source = connection.settings_dict["NAME"]
    connection.close()
    admin = psycopg2.connect(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return False
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(source)
                )
            )
    finally:
        admin.close()
    return True


def main() -> None:
    if "--build-worker" in sys.argv:
        index = sys.argv.index("--build-worker")
        _build_worker(int(sys.argv[index + 1]), int(sys.argv[index + 2]))
        return
    if "--build" in sys.argv:
        build_organizations(
            int(_option("--build")),
            int(_option("--workers", "2")),
            Path(_option("--log", str(ROOT / ".data" / "bench-orgs-build.log"))),
        )
        return
    bench_django_setup(recreate=not REUSE)

    import random

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from shared_apps.tenants import host_cache, template
    from shared_apps.tenants.models import Organization
    from shared_apps.tenants.services import organization_create
    from shared_apps.tenants.spares import spare_create, spare_pool_fill

    started_build = time.perf_counter()
    if REUSE:
        bench = BenchOrganization.__new__(BenchOrganization)
        bench.owner = User.objects.get(email="owner@bench.test")
        owner = User.objects.get(email="signup@bench.test")
        counter = iter(range(time.time_ns() // 1000, 10**20))  # a fresh slug on every --reuse run
    else:
        template_seconds = _timed(template.template_refresh)
        bench = BenchOrganization()
        bench.tasks_add(2000, random.Random(16))
        owner = User.objects.create_user(email="signup@bench.test", password="bench")  # noqa: S106
        counter = iter(range(10**9))
    build = {"spares": 0, "spare_seconds": 0.0, "claims": 0, "claim_seconds": 0.0}

    def next_slug() -> str:
        return f"o-{next(counter)}"

    def refill(count: int) -> list[float]:
        """Let the pool job create `count` spares; seconds per spare, per batch."""
        per_spare = []
        while count > 0:
            size = min(BATCH, count)
            seconds = _timed(lambda size=size: spare_pool_fill(size=size))
            build["spares"] += size
            build["spare_seconds"] += seconds
            per_spare.append(seconds / size)
            count -= size
        return per_spare

    def claim() -> float:
        seconds = _timed(lambda: organization_create(slug=next_slug(), name="Bench", owner=owner))
        build["claims"] += 1
        build["claim_seconds"] += seconds
        return seconds

    def grow_to(level: int) -> list[float]:
        per_spare = []
        while (present := Organization.objects.exclude(schema_name="public").count()) < level:
            batch = min(BATCH, level - present)
            per_spare += refill(batch)
            for _index in range(batch):
                claim()
        return per_spare

    def raw_sql_create(spare: Organization) -> None:
        raw_sql_claim(spare, slug=next_slug(), owner=owner)

    client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    client.force_login(bench.owner)

    def request() -> float:
        begin = time.perf_counter()
        response = client.get("/api/v1/tasks/")
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, response.content[:300]
        return elapsed

    def select_one() -> float:
        with connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            return time.perf_counter() - begin

    host = f"bench.{settings.BASE_DOMAIN}"

    def host_cold() -> float:
        host_cache.host_cache_invalidate(host)
        return _timed(lambda: host_cache.organization_for_host(host))

    def host_warm() -> float:
        host_cache.organization_for_host(host)
        return _timed(lambda: host_cache.organization_for_host(host))

    def backend_bytes(cursor) -> int:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return int(cursor.fetchone()[0])

    def memory() -> tuple[int, int]:
        for _index in range(5):
            request()
        with connection.cursor() as cursor:
            one = backend_bytes(cursor)
        # A fresh connection that visits many organisations' tables (a worker's life).
        import psycopg2

        schemas = list(
            Organization.objects.filter(status="active")
            .exclude(schema_name="public")
            .order_by("pk")
            .values_list("schema_name", flat=True)[:50]
        )
        fresh = psycopg2.connect(os.environ["DATABASE_URL"])
        try:
            with fresh.cursor() as cursor:
                for schema in schemas:
                    cursor.execute(f'SET search_path = "{schema}", public')
                    cursor.execute("SELECT count(*) FROM tasks_task WHERE project_id = 1")
                    cursor.execute("SELECT count(*) FROM members_member")
                many = backend_bytes(cursor)
        finally:
            fresh.close()
        return one, many

    def catalogue() -> tuple[int, int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_class")
            relations = cursor.fetchone()[0]
            cursor.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'"
            )
            catalogue_bytes = int(cursor.fetchone()[0])
            cursor.execute("SELECT pg_database_size(current_database())")
            return relations, catalogue_bytes, int(cursor.fetchone()[0])

    if not REUSE:
        # Spare creation before and after: migrated (no template) against cloned.
        with schema_context("public"):
            original_clone = template.template_clone
            template.template_clone = lambda schema_name: False
            try:
                migrated = [_timed(spare_create) for _index in range(2)]
            finally:
                template.template_clone = original_clone
            cloned = [_timed(spare_create) for _index in range(10)]
        before, after = statistics.median(migrated), statistics.median(cloned)
        print(
            f"spare creation: migrated {before * 1000:.0f} ms, cloned {after * 1000:.0f} ms ({before / after:.1f}x); "
            f"template built in {template_seconds:.1f} s | load {_load()}",
            flush=True,
        )
        for _index in range(13):
            claim()

    levels = LEVELS or [Organization.objects.exclude(schema_name="public").count()]

    rows = []
    for level in levels:
        present = Organization.objects.exclude(schema_name="public").count()
        if present < level:
            _relations, _catalogue_bytes, database_bytes = catalogue()
            needed = database_bytes / max(present, 1) * (level - present)
            free = shutil.disk_usage(ROOT).free
            if needed > MAX_BYTES or needed > free * 0.8:
                print(
                    f"stop before {level}: ~{needed / 1024**3:.1f} GB more needed at "
                    f"{database_bytes / max(present, 1) / 1024**2:.2f} MB per organisation "
                    f"(limit {MAX_BYTES / 1024**3:.0f} GB, {free / 1024**3:.0f} GB free)",
                    flush=True,
                )
                break
        level_started = time.perf_counter()
        per_spare = grow_to(level)
        grow_seconds = time.perf_counter() - level_started
        refill_now = refill(15)
        claims = [claim() for _index in range(15)]
        raws = []
        for _index in range(5):
            spare = spare_create()
            raws.append(_timed(lambda spare=spare: raw_sql_create(spare)))
        requests = [request() for _index in range(40)]
        selects = [select_one() for _index in range(40)]
        colds = [host_cold() for _index in range(20)]
        warms = [host_warm() for _index in range(20)]
        migrate = _timed(lambda: call_command("migrate_tenants", stdout=StringIO(), verbosity=0))
        relations, catalogue_bytes, database_bytes = catalogue()
        one_org_memory, many_org_memory = memory()
        tenants = Organization.objects.exclude(schema_name="public").count()
        row = {
            "level": level,
            "tenants": tenants,
            "grow": grow_seconds,
            "grown": len(per_spare) * BATCH,
            "spare": statistics.median(refill_now),
            "claim": statistics.median(claims),
            "raw": statistics.median(raws),
            "request": statistics.median(requests),
            "select": statistics.median(selects),
            "cold": statistics.median(colds),
            "warm": statistics.median(warms),
            "migrate": migrate,
            "relations": relations,
            "catalogue": catalogue_bytes,
            "database": database_bytes,
            "memory_one": one_org_memory,
            "memory_many": many_org_memory,
            "load": _load(),
        }
        rows.append(row)
        print(
            f"{tenants:>6} schemas (+{grow_seconds:.0f} s to grow) | spare {row['spare'] * 1000:.0f} ms | claim "
            f"{row['claim'] * 1000:.1f} ms, raw SQL {row['raw'] * 1000:.1f} ms | request "
            f"{row['request'] * 1000:.1f} ms, SELECT 1 {row['select'] * 1000:.2f} ms | host cold "
            f"{row['cold'] * 1000:.2f} ms, warm {row['warm'] * 1000:.3f} ms | migrate_tenants {migrate:.2f} s | "
            f"pg_class {relations}, catalogue {catalogue_bytes / 1024**2:.0f} MB, database "
            f"{database_bytes / 1024**2:.0f} MB | backend {one_org_memory / 1024**2:.1f} MB (one org), "
            f"{many_org_memory / 1024**2:.1f} MB (50 orgs) | load {row['load']}",
            flush=True,
        )

    total = time.perf_counter() - started_build
    print(
        f"\nbuilt {build['spares']} spares in {build['spare_seconds']:.0f} s "
        f"({build['spare_seconds'] / max(build['spares'], 1) * 1000:.0f} ms each) and made "
        f"{build['claims']} claims in {build['claim_seconds']:.0f} s; whole run {total:.0f} s"
    )
    first = rows[0] if rows else None
    print(
        "\n| schemas | spare (ms) | claim (ms) | raw SQL (ms) | claim / 1-org claim | request (ms) "
        "| request / 1-org | SELECT 1 (ms) | host cold / warm (ms) | no-op migrate_tenants (s) "
        "| pg_class rows | catalogue (MB) | database (MB) | backend, 1 / 50 orgs (MB) | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['tenants']} | {row['spare'] * 1000:.0f} | {row['claim'] * 1000:.1f} | {row['raw'] * 1000:.1f} "
            f"| {row['claim'] / first['claim']:.2f}x | {row['request'] * 1000:.1f} "
            f"| {row['request'] / first['request']:.2f}x | {row['select'] * 1000:.2f} "
            f"| {row['cold'] * 1000:.2f} / {row['warm'] * 1000:.3f} | {row['migrate']:.2f} | {row['relations']} "
            f"| {row['catalogue'] / 1024**2:.0f} | {row['database'] / 1024**2:.0f} "
            f"| {row['memory_one'] / 1024**2:.1f} / {row['memory_many'] / 1024**2:.1f} | {row['load']} |"
        )  # fmt: skip


if __name__ == "__main__":
    main()
