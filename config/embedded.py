"""Where the embedded development services listen: one definition for the runner and
the settings.

`platform/dev.py` starts PostgreSQL and Redis on these ports when DATABASE_URL / REDIS_URL
are not set, and the settings fall back to the same URLs, so `manage.py` run by hand
(`create_org`, `shell`) reaches the services of *this* checkout's `make run`, not another
checkout's on the default ports.

Standard library only: the runner loads this file by path before anything is installed
or imported (it must not import the `config` package, which starts Celery).
"""

import os
from pathlib import Path

PG_DEFAULT_PORT = 54329
REDIS_DEFAULT_PORT = 63799
PG_DATABASE = "tessera"


def pg_port() -> int:
    return int(os.environ.get("TESSERA_PG_PORT") or PG_DEFAULT_PORT)


def redis_port() -> int:
    return int(os.environ.get("TESSERA_REDIS_PORT") or REDIS_DEFAULT_PORT)


def database_url() -> str:
    return f"postgres://postgres@127.0.0.1:{pg_port()}/{PG_DATABASE}"


def redis_url() -> str:
    return f"redis://127.0.0.1:{redis_port()}/0"


def web_port() -> int:
    """Where `make run` serves the web app; links sent to people default to it too
    (TESSERA_SITE_PORT in config/settings/local.py)."""
    return int(os.environ.get("TESSERA_PORT") or 8000)


def data_dir(root: Path) -> Path:
    """The embedded services' data, mail files and beat schedule: `.data/` of the
    checkout, or TESSERA_DATA_DIR (a second, throw-away stack: the runner's own tests)."""
    return Path(os.environ.get("TESSERA_DATA_DIR") or root / ".data")
