"""Webhook deliveries against a real HTTP server on loopback (the SSRF guard is lifted
for it by NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE, as a developer would)."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.core.models import DeliveryFailure
from tenant_apps.notifications import processing, webhooks
from tenant_apps.notifications.models import DeliveryStatus, EmailDelivery, Event, Watcher, Webhook, WebhookDelivery
from tenant_apps.notifications.processing import outbox_sweep_here
from tenant_apps.notifications.services import webhook_create
from tenant_apps.tasks.services import task_create
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team


class Receiver:
    """An HTTP endpoint that records what it gets and answers `status`."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hooks/tessera?src=test"


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _assigned_event(team: Team) -> Event:
    task_create(project=team.web, actor=team.owner_member, title="Hooked", assignees=[team.members["Developer"]])
    event = Event.objects.get()
    processing.event_process(event.pk)
    return event


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_an_event_is_posted_signed_and_logged(team, receiver):
    with schema_context(team.organization.schema_name):
        hook = webhook_create(url=receiver.url(), kinds=["task.assigned"], actor=team.owner_member)
        event = _assigned_event(team)
        (delivery,) = WebhookDelivery.objects.all()
        assert webhooks.delivery_attempt(delivery.pk) is None
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.SENT, 1, 204)
    ((headers, body),) = receiver.requests
    expected = hmac.new(hook.secret.encode(), f"{headers['X-Tessera-Timestamp']}.".encode() + body, hashlib.sha256)
    assert headers["X-Tessera-Signature"] == f"sha256={expected.hexdigest()}"
    assert headers["X-Tessera-Event"] == "task.assigned"
    payload = json.loads(body)
    assert payload["id"] == event.pk
    assert payload["organization"] == "alpha"
    assert payload["task"] == {"key": "WEB-1", "title": "Hooked", "url": "http://alpha.localhost/tasks/WEB-1/"}
    # Delivered once: a second attempt finds nothing to do.
    with schema_context(team.organization.schema_name):
        assert webhooks.delivery_attempt(delivery.pk) is None
    assert len(receiver.requests) == 1


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_webhooks_for_other_kinds_or_disabled_get_nothing(team, receiver):
    with schema_context(team.organization.schema_name):
        webhook_create(url=receiver.url(), kinds=["comment.added"], actor=team.owner_member)
        off = webhook_create(url=receiver.url(), kinds=[], actor=team.owner_member)
        off.is_active = False
        off.save()
        _assigned_event(team)
        assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True, NOTIFICATIONS_MAX_ATTEMPTS=2)
def test_failures_retry_with_backoff_then_fail_visibly(team, receiver):
    receiver.status = 500
    with schema_context(team.organization.schema_name):
        webhook_create(url=receiver.url(), kinds=[], actor=team.owner_member)
        _assigned_event(team)
        delivery = WebhookDelivery.objects.get()
        retry_in = webhooks.delivery_attempt(delivery.pk)
        assert retry_in is not None
        assert retry_in >= 29
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 500")
        assert webhooks.delivery_attempt(delivery.pk) is None  # not due yet: untouched
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        assert webhooks.delivery_attempt(delivery.pk) is None
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert len(receiver.requests) == 2
    assert DeliveryFailure.objects.get().channel == "webhook"


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_the_connection_goes_to_the_checked_address(team, receiver, monkeypatch):
    """The name is resolved once, checked, and that address is used: a second, different
    DNS answer (rebinding) never reaches the socket."""
    answers = iter([["127.0.0.1"]])
    monkeypatch.setattr(webhooks, "_addresses", lambda host, port: next(answers))
    with schema_context(team.organization.schema_name):
        Webhook.objects.create(url=receiver.url("hooks.invalid"), secret="s" * 64, kinds=[])
        _assigned_event(team)
        delivery = WebhookDelivery.objects.get()
        assert webhooks.delivery_attempt(delivery.pk) is None
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert receiver.requests[0][0]["Host"] == f"hooks.invalid:{receiver.port}"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::a00:1",
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "::a00:1",  # IPv4-compatible
        "224.0.0.1",
    ],
)
def test_private_and_embedded_private_addresses_are_not_public(address):
    assert webhooks._public(address) is False


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d822"])
def test_public_addresses_are(address):
    assert webhooks._public(address) is True


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://93.184.216.34:8443/h", True),
        ("http://93.184.216.34/h", True),
        ("http://93.184.216.34:25/h", False),
        ("http://93.184.216.34:22/h", False),
    ],
)
def test_webhook_ports(url, allowed):
    if allowed:
        assert webhooks.url_check(url)[3] == ["93.184.216.34"]
    else:
        with pytest.raises(ValidationError):
            webhooks.url_check(url)


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_REDISPATCH_SECONDS=0, NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_the_sweep_sends_again_what_is_due(team, receiver, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "tenant_apps.notifications.processing.send_in_schema",  # the sweep sends by registered name
        lambda task, *, schema_name, args, **kwargs: sent.append((task, schema_name, args)) or object(),
    )
    with schema_context(team.organization.schema_name):
        webhook_create(url=receiver.url(), kinds=[], actor=team.owner_member)
        task_create(project=team.web, actor=team.owner_member, title="Lost", assignees=[team.members["Developer"]])
        (event,) = Event.objects.all()
        outbox_sweep_here()
        assert ("notifications.event_process", team.organization.schema_name, [event.pk]) in sent
        processing.event_process(event.pk)
        sent.clear()
        assert outbox_sweep_here() == {"events": 0, "emails": 1, "webhooks": 1}
        developer = team.members["Developer"].pk
        delivery = WebhookDelivery.objects.get().pk
        assert sorted(name_args[0] for name_args in sent) == [
            "notifications.email_send",
            "notifications.webhook_deliver",
        ]
        assert ("notifications.email_send", team.organization.schema_name, [developer]) in sent
        assert ("notifications.webhook_deliver", team.organization.schema_name, [delivery]) in sent
        assert EmailDelivery.objects.get().status == DeliveryStatus.PENDING


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_webhook_delivery_and_watcher_lists_run_a_constant_number_of_queries(team, receiver):
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    with schema_context(team.organization.schema_name):
        hook = webhook_create(url=receiver.url(), kinds=[], actor=team.owner_member)
        task = task_create(project=team.web, actor=team.owner_member, title="Watched")
        task_create(project=team.web, actor=team.owner_member, title="Hooked", assignees=[team.members["Developer"]])
        processing.event_process(Event.objects.get().pk)  # one delivery: lists are never empty
    urls = ["/api/v1/webhooks/", f"/api/v1/webhooks/{hook.pk}/deliveries/", "/api/v1/projects/WEB/tasks/1/watchers/"]

    def counts() -> list[int]:
        result = []
        for url in urls:
            owner.get(url)  # warm the host, session and permission caches
            with CaptureQueriesContext(connection) as queries:
                assert owner.get(url).status_code == 200
            result.append(len(queries))
        return result

    small = counts()
    with schema_context(team.organization.schema_name):
        for _ in range(3):
            webhook_create(url=receiver.url(), kinds=[], actor=team.owner_member)
        for name in ("Developer", "Viewer", "Reporter"):
            Watcher.objects.create(task=task, member=team.members[name])
        for number in range(2):
            task_create(
                project=team.web, actor=team.owner_member, title=f"Hook {number}", assignees=[team.members["Developer"]]
            )
        for event in Event.objects.filter(processed_at__isnull=True):
            processing.event_process(event.pk)
        assert WebhookDelivery.objects.filter(webhook=hook).count() == 3
    assert counts() == small
