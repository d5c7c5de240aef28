"""Tests: real PostgreSQL and Redis, isolated from a running `make run`."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, REDIS_URL, env

SECRET_KEY = "test-only-key"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = [".localhost", "localhost", "testserver"]
TENANT_SPARE_POOL_SIZE = 0
# Billing starts disabled whatever a local .env says; billing tests turn it on with keys
# of their own and intercept Stripe at the HTTP client (no network).
STRIPE_SECRET_KEY = ""
STRIPE_WEBHOOK_SECRET = ""
# Close connections after each request and each task (Celery's Django fix-up), so worker
# threads started by tests leave none open when the test database is dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Each pytest-xdist worker gets its own Redis database (15, 14, ...): its own queue, cache
# and Celery control channel, so a worker's health check never hears another's Celery.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_worker_index = int(_xdist_worker[2:]) if _xdist_worker.startswith("gw") else 0
_redis_db = env.int("TESSERA_TEST_REDIS_DB", default=15) - _worker_index
TEST_REDIS_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{_redis_db}"))
for _alias, _cache in CACHES.items():
    _cache["LOCATION"] = TEST_REDIS_URL
    _cache["KEY_PREFIX"] = f"test-{_xdist_worker}-{_alias}"
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = f"tessera-test-{_xdist_worker}"
# A directory of this test process's own: runs side by side never touch each other's files.
MEDIA_ROOT = Path(
    env("TESSERA_TEST_MEDIA_ROOT", default="") or tempfile.mkdtemp(prefix=f"tessera-media-{_xdist_worker}-")
)
# Tests render pages without running collectstatic first: plain names, no manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Emails go out at once in tests (the digest tests set a window explicitly).
NOTIFICATIONS_EMAIL_DIGEST_SECONDS = 0
