import time

import pytest
from django.test import Client

from tests.celery_support import running_worker


def _health(host: str = "localhost"):
    response = Client(HTTP_HOST=host).get("/healthz")
    return response.status_code, response.json()


def test_healthz_is_200_with_database_redis_and_a_worker_up(committed):
    with running_worker():
        status, body = _health()
    assert status == 200, body
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "celery": "ok"},
        "billing": "disabled",
    }


@pytest.mark.parametrize(
    ("secret_key", "webhook_secret", "state"),
    [("", "", "disabled"), ("sk_test_x", "whsec_x", "enabled"), ("sk_test_x", "", "enabled-no-webhooks")],
)
def test_healthz_says_whether_billing_is_on_without_failing_for_it(
    committed, settings, secret_key, webhook_secret, state
):
    settings.HEALTH_CELERY_TIMEOUT = 0.2
    settings.STRIPE_SECRET_KEY = secret_key
    settings.STRIPE_WEBHOOK_SECRET = webhook_secret
    _status, body = _health()
    assert body["billing"] == state
    assert not any(value.startswith("error") for key, value in body["checks"].items() if key != "celery")


def test_healthz_is_503_when_no_worker_answers(committed, settings):
    settings.HEALTH_CELERY_TIMEOUT = 0.5
    started = time.monotonic()
    status, body = _health()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["celery"].startswith("error")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("host", ["alpha.localhost", "nobody.localhost", "10.0.0.7", "evil.example.com"])
def test_healthz_answers_on_any_host(committed, settings, host):
    settings.HEALTH_CELERY_TIMEOUT = 0.2
    status, body = _health(host)
    assert status == 503  # no worker in this test; the point is that it answers at all
    assert body["checks"]["database"] == "ok"


def test_healthz_reports_redis_down(committed, settings):
    settings.HEALTH_CELERY_TIMEOUT = 0.2
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    status, body = _health()
    assert status == 503
    assert body["checks"]["redis"].startswith("error: ConnectionError")


def test_healthz_refuses_writes(committed):
    response = Client(HTTP_HOST="localhost").post("/healthz")
    assert response.status_code == 405
