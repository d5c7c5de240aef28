"""The CSV import: rows per second and memory, at two file sizes.

Run with `.venv/bin/python platform/dev.py bench bench/imports.py [--rows 10000]
[--large 50000]` (or `make bench-imports`). Builds its own database (`<DATABASE_URL's
name>_bench`), an organisation with 30 members in project WEB and 20 labels, then for
each size writes a CSV file (English and Russian titles, a description, a state, a
priority, one or two assignees by email, labels of which some do not exist yet, a due
date) and imports it the way the API does: `import_upload` (checks encoding, header and
rows, stores the file), `import_start`, then `import_run` — the body of the Celery task,
called in this process so its time and memory are the job's alone.

  upload     seconds of the upload check (one streaming pass over the file)
  run        seconds of the job (checking pass + inserting transaction), rows per second
  peak heap  tracemalloc's peak during the job (a second, traced run of the same file)
  RSS        the process's peak resident set size after each run (ru_maxrss)

and, for comparison, tasks per second through `task_create` one at a time (500 tasks),
what an import without bulk inserts would cost. Flat memory: the peak heap of the large
file is about that of the small one (the file is streamed; rows are held one batch at a
time).
"""

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import EN_WORDS, RU_WORDS, bench_django_setup  # noqa: E402

MEMBERS = 30
LABELS = 20


def _world():
    from django_tenants.utils import schema_context

    from shared_apps.accounts.models import User
    from shared_apps.tenants.models import OrgRole
    from shared_apps.tenants.services import membership_add, organization_create
    from tenant_apps.members.models import Member
    from tenant_apps.projects.models import Role
    from tenant_apps.projects.services import project_create, project_member_set
    from tenant_apps.tasks.models import Label

    owner = User.objects.create_user(email="owner@imports.test")
    organization = organization_create(slug="imports", name="Imports", owner=owner)
    emails = []
    for index in range(MEMBERS):
        user = User.objects.create_user(email=f"p{index}@imports.test")
        membership_add(organization=organization, user=user, role=OrgRole.MEMBER)
        emails.append(user.email)
    with schema_context(organization.schema_name):
        actor = Member.objects.get(email=owner.email)
        project = project_create(key="WEB", name="Website", actor=actor)
        developer = Role.objects.get(name="Developer")
        for member in Member.objects.exclude(pk=actor.pk):
            project_member_set(project=project, member=member, role=developer)
        Label.objects.bulk_create(Label(project=project, name=f"label-{n}") for n in range(LABELS))
    return organization, project, actor, emails


def _csv(path: Path, rows: int, emails: list[str]) -> None:
    rng = random.Random(rows)
    states = ["To do", "In progress", "done", "В работе", "На проверке"]  # noqa: RUF001 (Russian state names)
    priorities = ["", "Low", "high", "Срочный", "2"]
    start = date(2026, 12, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Title", "Description", "Status", "Priority", "Assignee", "Labels", "Due date"])
        for n in range(rows):
            words = rng.sample(EN_WORDS if n % 2 else RU_WORDS, 5)
            writer.writerow(
                [
                    " ".join(words).capitalize(),
                    " ".join(rng.sample(EN_WORDS, 12)),
                    rng.choice(states),
                    rng.choice(priorities),
                    ", ".join(rng.sample(emails, rng.choice((1, 2)))),
                    "; ".join(f"label-{rng.randrange(LABELS + 10)}" for _ in range(rng.choice((0, 1, 2)))),
                    (start + timedelta(days=n % 90)).isoformat(),
                ]
            )


def _import(project, actor, path: Path, *, traced: bool) -> dict:
    from django.core.files.uploadedfile import UploadedFile

    from tenant_apps.imports.services import import_run, import_start, import_upload

    started = time.perf_counter()
    with path.open("rb") as handle:
        upload = UploadedFile(handle, name=path.name, size=path.stat().st_size)
        task_import = import_upload(project=project, actor=actor, upload=upload)
    upload_seconds = time.perf_counter() - started
    import_start(task_import=task_import, actor=actor, mode="all_or_nothing")
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    outcome = import_run(import_id=task_import.pk)
    run_seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    task_import.refresh_from_db()
    assert outcome == "done", (outcome, task_import.failure_reason, task_import.errors[:3])
    return {
        "rows": task_import.imported_count,
        "upload": upload_seconds,
        "run": run_seconds,
        "peak": peak,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _one_by_one(project, actor, count: int) -> float:
    from tenant_apps.tasks.services import task_create

    started = time.perf_counter()
    for n in range(count):
        task_create(project=project, actor=actor, title=f"One by one {n}", description="x", priority=2)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=50_000)
    args = parser.parse_args()
    bench_django_setup()
    from django.conf import settings
    from django_tenants.utils import schema_context

    settings.TESSERA_IMPORT_MAX_ROWS = max(args.rows, args.large)
    organization, project, actor, emails = _world()
    results = []
    with tempfile.TemporaryDirectory() as folder, schema_context(organization.schema_name):
        for rows in (args.rows, args.large):
            path = Path(folder) / f"tasks-{rows}.csv"
            _csv(path, rows, emails)
            timed = _import(project, actor, path, traced=False)
            traced = _import(project, actor, path, traced=True)
            timed["peak"] = traced["peak"]
            timed["size"] = path.stat().st_size
            results.append(timed)
            print(f"{rows} rows: {timed}", flush=True)
        single = _one_by_one(project, actor, 500)

    print(f"\n{datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC")
    print("| file | upload check (s) | job (s) | rows/s | peak heap in the job (MB) | peak RSS after (MB) |")
    print("|---|---|---|---|---|---|")
    for item in results:
        print(
            f"| {item['rows']} rows, {item['size'] / 1e6:.1f} MB | {item['upload']:.2f} | {item['run']:.1f} "
            f"| {item['rows'] / item['run']:.0f} | {item['peak'] / 1e6:.1f} | {item['rss']:.0f} |"
        )
    rate = results[0]["rows"] / results[0]["run"]
    print(f"| task_create one at a time (500 tasks) | | | {single:.0f} | | |")
    print(f"\nimport / one-by-one: {rate / single:.1f}x")


if __name__ == "__main__":
    main()
