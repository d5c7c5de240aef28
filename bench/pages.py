"""Web pages against the JSON API for the same data, measured side by side.

Run with `make bench-pages` (or `.venv/bin/python platform/dev.py bench bench/pages.py
[--rounds 30]`). Builds its own database (`<DATABASE_URL's name>_bench`, dropped and
recreated): one organisation, a project of 1,000 tasks (0-2 assignees each), one task
with 50 comments. Then measures p50/p95 server time (Django's test client: middleware,
auth, permission checks, templates; no network) of

  board   GET /projects/P00/            (5 columns, up to 100 cards each, filter bar)
  api     GET /api/v1/projects/P00/tasks/?page_size=200  x the pages needed for the
          same 500 cards (the API's largest page is 200)
  list    GET /projects/P00/list/       (50 rows)  vs  GET /api/v1/projects/P00/tasks/ (50)
  task    GET /tasks/P00-1/             (50 comments, activity)
          vs  the task, its comments and its activity from the API (3 requests)
  live    GET /live/?t=..&v=..          (an idle page's check) and its SQL statements

and prints each pair and its ratio (target: pages <= 1.5x the API), by the wall clock
and by this process's CPU time (the steadier figure on a shared, loaded machine).
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchOrganization, bench_django_setup  # noqa: E402


def _p(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _timed(client, urls: list[str], rounds: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds per round of `urls`; with `cpu`, this process's CPU time
    per round too (on a shared machine the wall clock includes waiting for a core; the
    CPU time does not, and excludes PostgreSQL's and Redis's own work)."""
    for url in urls:  # warm caches
        assert client.get(url).status_code in (200, 204), url
    samples = []
    for _ in range(rounds):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        for url in urls:
            client.get(url)
        samples.append((time.perf_counter() - begin) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - begin_cpu) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    bench_django_setup()

    from django.conf import settings

    # No collectstatic here: plain static names (the manifest lookup is a dict read).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from tenant_apps.tasks.models import Task
    from tenant_apps.tasks.services import comment_create

    bench = BenchOrganization(people=20, projects=1)
    bench.tasks_add(1000, random.Random(7))
    with schema_context(bench.organization.schema_name):
        task = Task.objects.get(project__key="P00", number=1)
        for index in range(50):
            comment_create(
                task=task,
                actor=bench.members[index % 5],
                body=f"Comment **{index}** with a [link](https://example.com).",
            )
        per_status = dict(  # per board column: per workflow state
            Task.objects.values_list("state_id").annotate(
                n=__import__("django.db.models", fromlist=["Count"]).Count("pk")
            )
        )
    shown = sum(min(n, 100) for n in per_status.values())
    client = Client(HTTP_HOST=f"bench.{settings.BASE_DOMAIN}")
    client.force_login(bench.owner)
    api_pages = [f"/api/v1/projects/P00/tasks/?page_size=200&page={n}" for n in range(1, (shown + 199) // 200 + 1)]
    pairs = {
        f"board ({shown} cards) vs API ({len(api_pages)} pages of 200)": (["/projects/P00/"], api_pages),
        "list (50) vs API list (50)": (["/projects/P00/list/"], ["/api/v1/projects/P00/tasks/"]),
        "task page (50 comments) vs API task+comments+activity": (
            ["/tasks/P00-1/"],
            [
                "/api/v1/projects/P00/tasks/1/",
                "/api/v1/projects/P00/tasks/1/comments/",
                "/api/v1/projects/P00/tasks/1/activity/",
            ],
        ),
    }
    print(os.uname().nodename, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), f"load {os.getloadavg()[0]:.1f}")
    print(f"{'':58} {'page p50':>9} {'p95':>7} {'API p50':>9} {'p95':>7} {'ratio':>6} {'CPU ratio':>9}")
    for name, (page, api) in pairs.items():
        # Alternate page and API rounds: both see the same machine load.
        page_samples, api_samples, page_cpu, api_cpu = [], [], [], []
        for _ in range(args.rounds):
            page_samples += _timed(client, page, 1, page_cpu)
            api_samples += _timed(client, api, 1, api_cpu)
        page_ms, api_ms = _p(page_samples), _p(api_samples)
        ratio = page_ms[0] / api_ms[0]
        cpu_ratio = statistics.median(page_cpu) / statistics.median(api_cpu)
        print(
            f"{name:58} {page_ms[0]:8.1f}ms {page_ms[1]:6.1f} {api_ms[0]:8.1f}ms {api_ms[1]:6.1f} {ratio:5.2f}x"
            f" {cpu_ratio:8.2f}x"
        )
    board = client.get("/projects/P00/").text
    poll = re.search(r'class="live-poll" hidden hx-get="([^"]+)"', board).group(1).replace("&amp;", "&")
    samples = _timed(client, [poll], args.rounds * 5)
    with CaptureQueriesContext(connection) as captured:
        client.get(poll)
    print(
        f"live check (idle): p50 {_p(samples)[0]:.2f} ms, p95 {_p(samples)[1]:.2f} ms, {len(captured)} SQL statements"
    )


if __name__ == "__main__":
    main()
