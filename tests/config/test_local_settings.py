"""`manage.py` run by hand (the README's `create_org` tip) finds the embedded services of
this checkout: the local settings derive their URLs from TESSERA_PG_PORT /
TESSERA_REDIS_PORT exactly as platform/dev.py does (config/embedded.py)."""

import json
import subprocess
import sys

from tests.deployment.runner_support import ROOT, runner_env

SHOW = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({'db_port': s.DATABASES['default']['PORT'], 'db_name': s.DATABASES['default']['NAME'], "
    "'redis': s.REDIS_URL, 'cache': s.CACHES['default']['LOCATION'], 'broker': s.CELERY_BROKER_URL}))"
)


def _manage_py_settings(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW],
        cwd=ROOT,
        env=runner_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_manage_py_uses_the_embedded_ports_of_the_environment():
    shown = _manage_py_settings(TESSERA_PG_PORT="54777", TESSERA_REDIS_PORT="63777")
    assert int(shown["db_port"]) == 54777
    assert shown["db_name"] == "tessera"
    assert shown["redis"] == shown["cache"] == shown["broker"] == "redis://127.0.0.1:63777/0"


def test_manage_py_defaults_to_the_runners_default_ports():
    shown = _manage_py_settings(TESSERA_PG_PORT="", TESSERA_REDIS_PORT="")
    assert int(shown["db_port"]) == 54329
    assert shown["redis"] == "redis://127.0.0.1:63799/0"


def test_an_explicit_database_url_still_wins():
    shown = _manage_py_settings(TESSERA_PG_PORT="54777", DATABASE_URL="postgres://postgres@127.0.0.1:5999/other")
    assert int(shown["db_port"]) == 5999
    assert shown["db_name"] == "other"


LINKS = (
    "import json; from django.conf import settings as s; "
    "from shared_apps.tenants.models import Organization; "
    "from shared_apps.tenants.services import organization_url; "
    "print(json.dumps({'site_port': s.SITE_PORT, "
    "'url': organization_url(Organization(slug='acme'), '/invitations/abc/')}))"
)


def _manage_py_links(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", LINKS],
        cwd=ROOT,
        env=runner_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_links_name_the_port_make_run_serves_on():
    """Every link sent to people (sign-up answer, login redirect, invitation, notification
    and unsubscribe emails, the seed banner) is built by `organization_url` from SITE_PORT."""
    shown = _manage_py_links(TESSERA_PORT="8100", TESSERA_SITE_PORT="")
    assert shown["site_port"] == "8100"
    assert shown["url"] == "http://acme.localhost:8100/invitations/abc/"


def test_links_default_to_port_8000_and_an_explicit_link_port_wins():
    assert _manage_py_links(TESSERA_PORT="", TESSERA_SITE_PORT="")["url"].startswith("http://acme.localhost:8000/")
    shown = _manage_py_links(TESSERA_PORT="8100", TESSERA_SITE_PORT="443")
    assert shown["url"] == "http://acme.localhost:443/invitations/abc/"
