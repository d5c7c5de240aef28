"""Benchmarks never share cache keys, queues or databases with the development stack."""

import json
import subprocess
import sys

from tests.deployment.runner_support import ROOT, runner_env

SHOW = """
import json, sys
sys.path.insert(0, ".")
{setup}
import django
django.setup()
from django.conf import settings as s
print(json.dumps({{"db": s.DATABASES["default"]["NAME"], "cache": s.CACHES["default"]["LOCATION"],
    "prefix": s.CACHES["default"]["KEY_PREFIX"], "platform": s.CACHES["platform"]["LOCATION"],
    "platform_prefix": s.CACHES["platform"]["KEY_PREFIX"], "broker": s.CELERY_BROKER_URL,
    "queue": s.CELERY_TASK_DEFAULT_QUEUE}}))
"""


def _settings(setup: str) -> dict:
    env = runner_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:54329/tessera",
        REDIS_URL="redis://127.0.0.1:63799/0",
        DJANGO_SETTINGS_MODULE="config.settings.local",
    )
    result = subprocess.run(
        [sys.executable, "-c", SHOW.format(setup=setup)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_benchmarks_use_their_own_redis_database_prefix_queue_and_database():
    development = _settings("")
    bench = _settings("from bench.common import bench_environment; bench_environment()")

    assert bench["db"] == "tessera_bench" != development["db"]
    assert bench["cache"] == bench["platform"] == bench["broker"] == "redis://127.0.0.1:63799/1"
    assert development["cache"] == "redis://127.0.0.1:63799/0"
    assert bench["prefix"] != development["prefix"]
    assert bench["platform_prefix"] != development["platform_prefix"]
    assert bench["queue"] != development["queue"]
