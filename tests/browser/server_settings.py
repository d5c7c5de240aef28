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

# Webhooks to a receiver the test runs on loopback (test_settings_journeys.py): the SSRF
# guard is lifted here only, as a developer would for a local receiver.
NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True

# Reports written a row at a time (0.3 s each), slowly enough for the Reports page's progress bar to be
# seen moving (test_settings_journeys.py). Patched in the worker before its first task,
# when Django is set up; the real writers run, only paced.
REPORT_ROW_DELAY_SECONDS = 0.3


def _reports_paced(**_kwargs) -> None:
    import time

    from tenant_apps.reports import writers

    if getattr(writers, "_paced", False):
        return

    def paced(on_progress):
        count = 0

        def row_written():
            nonlocal count
            count += 1
            time.sleep(REPORT_ROW_DELAY_SECONDS)
            on_progress(count)

        return row_written

    # Every writer counts its rows here, whether Python or PostgreSQL (COPY) writes them.
    writers._progress_counter = paced
    writers._paced = True


def _connect_report_pacing() -> None:
    from celery.signals import task_prerun

    task_prerun.connect(_reports_paced, weak=False)


_connect_report_pacing()

# A second server on a real-looking domain (test_account.py, a security key used across
# domains: TESSERA_BASE_DOMAIN=tessera.test, which Chrome resolves to 127.0.0.1 there).
# fido2 accepts a plain-http origin only on localhost, so this server lets allauth skip
# the origin check; the key's RP id (tessera.test) is still checked by Chrome when the
# key is made and used, and by fido2 against the assertion's RP id hash.
# https://docs.allauth.org/en/latest/mfa/configuration.html (MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN)
if BASE_DOMAIN != "localhost":  # noqa: F405
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, BASE_DOMAIN, f".{BASE_DOMAIN}"]  # noqa: F405
    MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
