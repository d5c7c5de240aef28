"""Organisation webhooks: events POSTed as JSON, signed with HMAC-SHA256, retried with
backoff, every attempt logged. Addresses that resolve to private, loopback, link-local
or otherwise non-public networks are refused (SSRF guard) unless
NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE is set; the connection goes to the address that was
checked, so a DNS answer cannot change between the check and the request."""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.core.models import DeliveryFailure
from shared_apps.tenants.selectors import current_organization
from tenant_apps.notifications.emails import backoff, task_link
from tenant_apps.notifications.models import DeliveryStatus, Event, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tessera-Signature"


# Ports a webhook may use: the web's, or unprivileged ones (not SMTP, Redis on 6379 is
# >= 1024 but needs a public address anyway).
_ALLOWED_LOW_PORTS = {80, 443}
# IPv6 ranges that carry an IPv4 address or translate to one: judged by that address.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (no duplicates)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError({"url": _("The host %(host)s does not resolve.") % {"host": host}}) from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64) or int(ip) >> 32 == 0:  # NAT64, IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _public(str(embedded))
    return ip.is_global and not ip.is_multicast


def url_check(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses to connect to) for a webhook URL, or ValidationError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": _("Use an http:// or https:// URL.")})
    if parts.username or parts.password:
        raise ValidationError({"url": _("Credentials in the URL are not allowed; sign with the secret instead.")})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError({"url": _("The port is not valid.")}) from exc
    if port < 1024 and port not in _ALLOWED_LOW_PORTS:
        raise ValidationError({"url": _("Use port 80, 443 or a port from 1024 up.")})
    addresses = _addresses(parts.hostname, port)
    if not settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE:
        blocked = [address for address in addresses if not _public(address)]
        if blocked:
            raise ValidationError(
                {
                    "url": _("%(host)s points at a private or local address; webhooks go to public hosts only.")
                    % {"host": parts.hostname}
                }
            )
    return parts.scheme, parts.hostname, port, addresses


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + HMAC-SHA256 of `<timestamp>.<body>` with the webhook's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def event_body(event: Event) -> dict:
    organization = current_organization()
    payload = dict(event.payload)
    return {
        "id": event.pk,
        "kind": event.kind,
        "created_at": event.created_at.isoformat(),
        "organization": organization.slug,
        "actor": {"id": event.actor_id, "name": payload.pop("actor_name", "")} if event.actor_id else None,
        "task": (
            {"key": payload.get("task_key"), "title": payload.get("task_title"), "url": task_link(event)}
            if payload.get("task_key")
            else None
        ),
        "data": payload,
    }


def _connect_to_checked(addresses: list[str], port: int):
    """A socket factory for http.client that connects only to the addresses that were
    checked, in the resolver's order (IPv6 first when it comes first, then the others)."""

    def create_connection(_address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout, source_address)
            except OSError as exc:
                error = exc
        raise error or OSError("no address to connect to")

    return create_connection


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    scheme, host, port, addresses = url_check(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS
    conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_class(host, port, timeout=timeout)
    # Connect to a checked address; TLS still sends SNI and verifies the certificate for
    # `host`. Redirects are not followed (http.client never does).
    conn._create_connection = _connect_to_checked(addresses, port)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def delivery_attempt(delivery_id: int) -> float | None:
    """Try one delivery. Returns the seconds until a retry is due, or None when it is
    done (delivered, failed for good, or not due / taken by another worker)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            # Only this delivery row is locked during the request (not the webhook or the
            # event, which event processing references when it inserts deliveries).
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
            .select_related("webhook", "event")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        webhook = delivery.webhook
        if not webhook.is_active:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED, last_error="The webhook was disabled."
            )
            return None
        body = json.dumps(event_body(delivery.event), separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tessera-Webhooks/1",
            "X-Tessera-Event": delivery.event.kind,
            "X-Tessera-Delivery": str(delivery.pk),
            "X-Tessera-Timestamp": str(timestamp),
            SIGNATURE_HEADER: signature(webhook.secret, timestamp, body),
        }
        status, error = None, ""
        try:
            status = _post(webhook.url, body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except ValidationError as exc:
            error = "; ".join(exc.message_dict.get("url", [str(exc)]))
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
        attempts = delivery.attempts + 1
        if not error:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.SENT, attempts=attempts, response_status=status, delivered_at=timezone.now()
            )
            return None
        if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED, attempts=attempts, response_status=status, last_error=error
            )
            DeliveryFailure.objects.create(
                schema_name=connection.schema_name,
                channel="webhook",
                target=webhook.url,
                kinds=[delivery.event.kind],
                attempts=attempts,
                error=error,
            )
            logger.error("webhook delivery %s failed for good after %d attempts: %s", delivery.pk, attempts, error)
            return None
        retry_at = now + backoff(attempts)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=F("attempts") + 1, response_status=status, last_error=error, next_attempt_at=retry_at
        )
        logger.warning("webhook delivery %s failed (attempt %d): %s", delivery.pk, attempts, error)
        return (retry_at - now).total_seconds()
