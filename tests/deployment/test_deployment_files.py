"""The deployment files agree with the code: there is no Docker engine here to run
docker-compose.yml, so these tests read it (and the docs) against the settings."""

import importlib
import re
import shlex
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILES = sorted((ROOT / "config" / "settings").glob("*.py"))
APP_SERVICES = ("web", "worker", "beat")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)


def _env_vars_read_by_settings() -> set[str]:
    pattern = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    names: set[str] = set()
    for path in SETTINGS_FILES:
        names.update(pattern.findall(path.read_text()))
    return names


def test_compose_has_every_service():
    services = _compose()["services"]
    assert {"postgres", "pgbouncer", "redis", "web", "worker", "beat", "mailpit"} <= set(services)


def test_app_services_build_from_the_platform_dockerfile():
    services = _compose()["services"]
    for name in APP_SERVICES:
        build = services[name]["build"]
        assert build["dockerfile"] == "platform/Dockerfile"
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_app_service_commands_point_at_real_modules():
    services = _compose()["services"]
    web = _command(services["web"])
    assert web[0] == "gunicorn"
    module, attribute = web[1].split(":")
    assert module == "config.wsgi"
    assert attribute == "application"
    assert (ROOT / web[web.index("--config") + 1]).is_file()
    worker, beat = _command(services["worker"]), _command(services["beat"])
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert beat[:4] == ["celery", "-A", "config", "beat"]
    assert importlib.import_module("config").celery_app.main == "tessera"


def test_app_environment_matches_the_settings_and_the_services():
    compose = _compose()
    services = compose["services"]
    read = _env_vars_read_by_settings() | {"DJANGO_SETTINGS_MODULE", "MIGRATE_ON_START"}
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        unknown = set(environment) - read
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
        settings_module = environment["DJANGO_SETTINGS_MODULE"]
        assert (ROOT / (settings_module.replace(".", "/") + ".py")).is_file()
        assert settings_module == "config.settings.production"
        # production refuses to start without these
        assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(environment)

        database = urlparse(environment["DATABASE_URL"])
        postgres = services["postgres"]["environment"]
        bouncer = services["pgbouncer"]["environment"]
        # The app reaches PostgreSQL through PgBouncer, which forwards to the same database.
        assert database.hostname == "pgbouncer"
        assert str(database.port) == bouncer["LISTEN_PORT"]
        assert database.path.lstrip("/") == postgres["POSTGRES_DB"] == bouncer["DB_NAME"]
        assert database.username == postgres["POSTGRES_USER"] == bouncer["DB_USER"]
        assert database.password == postgres["POSTGRES_PASSWORD"] == bouncer["DB_PASSWORD"]
        assert urlparse(environment["REDIS_URL"]).hostname == "redis"
        assert environment["EMAIL_HOST"] in services
        assert environment["EMAIL_PORT"] == "1025"  # mailpit's SMTP port
    # web migrates on start; worker and beat wait for it (and so for postgres and redis).
    assert set(services["web"]["depends_on"]) == {"pgbouncer", "postgres", "redis"}
    assert services["worker"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert services["beat"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "platform/healthcheck.py"]
    assert (ROOT / "platform" / "healthcheck.py").is_file()
    assert services["web"]["environment"]["MIGRATE_ON_START"] == "1"
    assert "8000:8000" in services["web"]["ports"]
    assert "MIGRATE_ON_START" in (ROOT / "platform" / "entrypoint.sh").read_text()


def test_pgbouncer_pools_sessions_in_front_of_postgres():
    services = _compose()["services"]
    bouncer = services["pgbouncer"]
    # Session mode only: search_path is session state (DESIGN.md section 2, config/pooler.py).
    assert bouncer["environment"]["POOL_MODE"] == "session"
    assert bouncer["environment"]["DB_HOST"] == "postgres"
    assert bouncer["environment"]["DB_PORT"] == "5432"
    assert bouncer["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    # The pool must hold every app connection at once (web threads x processes, worker
    # concurrency, beat), or session clients would queue.
    assert int(bouncer["environment"]["DEFAULT_POOL_SIZE"]) <= int(bouncer["environment"]["MAX_CLIENT_CONN"])
    (max_connections,) = (
        int(item.split("=")[1]) for item in services["postgres"]["command"] if item.startswith("max_connections=")
    )
    assert int(bouncer["environment"]["DEFAULT_POOL_SIZE"]) < max_connections


def test_every_environment_variable_is_documented():
    names = _env_vars_read_by_settings()
    dev_runner = (ROOT / "platform" / "dev.py").read_text()
    names |= set(re.findall(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", dev_runner))
    embedded = (ROOT / "config" / "embedded.py").read_text()
    names |= set(re.findall(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", embedded))
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    assert not {name for name in names if name not in readme}, "missing from README.md"
    assert not {name for name in names if name not in example}, "missing from .env.example"
