"""Container health check for `web`: healthy once gunicorn answers /healthz at all.

/healthz itself is 503 until a Celery worker answers, and the worker container waits for
`web` to be healthy (migrations applied), so this check must not require the worker."""

import sys
import urllib.error
import urllib.request

try:
    urllib.request.urlopen("http://localhost:8000/healthz", timeout=5)
except urllib.error.HTTPError as error:
    sys.exit(0 if error.code == 503 else 1)
except OSError:
    sys.exit(1)
