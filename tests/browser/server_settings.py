"""Settings of the gunicorn server and the Celery worker that the browser tests start
(tests/browser/conftest.py): the test settings, pointed by the environment at the test
database, the test process's Redis database and media directory, with email written to
files the tests read."""

from config.settings.test import *  # noqa: F403
from config.settings.test import MIDDLEWARE, env

# The server's worker takes only the server's tasks and answers only the server's health
# pings: the test process runs real workers of its own (tests/celery_support.py) and
# checks that /healthz sees none, on the same Redis database (names: conftest.py).
CELERY_TASK_DEFAULT_QUEUE = env("TESSERA_BROWSER_QUEUE")
CELERY_CONTROL_EXCHANGE = env("TESSERA_BROWSER_CONTROL_EXCHANGE")

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env("TESSERA_BROWSER_MAIL_DIR")
# Static files served by the app itself as in production (WhiteNoise), read from the apps'
# static folders, so no collectstatic run is needed before the tests.
# https://whitenoise.readthedocs.io/en/stable/django.html#WHITENOISE_USE_FINDERS
if "whitenoise.middleware.WhiteNoiseMiddleware" not in MIDDLEWARE:
    MIDDLEWARE = [*MIDDLEWARE]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
