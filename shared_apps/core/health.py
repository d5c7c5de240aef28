"""Liveness of the parts Tessera needs: PostgreSQL, Redis and at least one Celery worker."""

import logging

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_redis() -> str:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_celery() -> str:
    from config.celery import app

    # `limit=1` returns on the first reply instead of always waiting out the timeout.
    replies = app.control.ping(timeout=settings.HEALTH_CELERY_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return "ok"


CHECKS = {"database": _check_database, "redis": _check_redis, "celery": _check_celery}


def health_status() -> tuple[bool, dict[str, str]]:
    """Run every check; a failing one reports its error instead of raising."""
    results: dict[str, str] = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a health page reports failures, it does not raise them
            healthy = False
            # The page is public: name the failure, keep hosts and users in the log.
            results[name] = f"error: {exc.__class__.__name__}"
            logger.warning("health check %s failed", name, exc_info=True)
    return healthy, results


def billing_state() -> str:
    """ "enabled", "disabled" (no STRIPE_SECRET_KEY: everyone unlimited) or
    "enabled-no-webhooks" (no STRIPE_WEBHOOK_SECRET: payments never reach plans)."""
    if not settings.STRIPE_SECRET_KEY:
        return "disabled"
    return "enabled" if settings.STRIPE_WEBHOOK_SECRET else "enabled-no-webhooks"
