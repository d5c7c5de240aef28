"""What every benchmark shares: its own database next to the development one."""

import os
from urllib.parse import urlparse, urlunparse


def bench_database_url() -> str:
    """DATABASE_URL with `_bench` appended to the database name."""
    url = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(url._replace(path=url.path.rstrip("/") + "_bench"))


def database_recreate(url: str) -> None:
    """Drop (forcing out other sessions) and create the database `url` names."""
    import psycopg2
    from psycopg2 import sql

    parsed = urlparse(url)
    admin = psycopg2.connect(
        host=parsed.hostname, port=parsed.port, user=parsed.username, password=parsed.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = parsed.path.lstrip("/")
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
