"""Stripe without the network: a fake HTTP client under the real stripe package, and
webhook deliveries signed the way Stripe signs them."""

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import parse_qsl, urlsplit

import stripe
from django.test import Client

WEBHOOK_SECRET = "whsec_test_tessera_0123456789"
WEBHOOK_URL = "/billing/stripe/webhook/"
TEAM_PRICE = "price_team_test"
BUSINESS_PRICE = "price_business_test"

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test{next(_ids):06d}"


class FakeStripeHttp(stripe.HTTPClient):
    """Answers Stripe API calls with canned JSON per (method, path) and records every
    request (form-encoded bodies decoded into flat dicts)."""

    name = "tessera-fake"

    def __init__(self):
        super().__init__()
        self.requests: list[dict] = []
        self.routes: dict[tuple[str, str], object] = {
            ("post", "/v1/customers"): lambda params: {"id": new_id("cus"), "object": "customer", **_echo(params)},
            ("post", "/v1/checkout/sessions"): lambda params: {
                "id": (session := new_id("cs")),
                "object": "checkout.session",
                "url": f"https://checkout.stripe.com/c/pay/{session}",
            },
            ("post", "/v1/billing_portal/sessions"): lambda params: {
                "id": (session := new_id("bps")),
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.com/p/session/{session}",
            },
        }
        self.failure: Exception | None = None

    def request(self, method, url, headers, post_data=None):
        path = urlsplit(url).path
        params = dict(parse_qsl(post_data.decode() if isinstance(post_data, bytes) else (post_data or "")))
        self.requests.append({"method": method, "path": path, "params": params, "headers": dict(headers or {})})
        if self.failure is not None:
            raise self.failure
        route = self.routes.get((method, path))
        if route is None:
            body = {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})."}}
            return json.dumps(body), 404, {}
        return json.dumps(route(params)), 200, {"Request-Id": new_id("req")}

    def request_stream(self, method, url, headers, post_data=None):  # pragma: no cover - not used
        raise NotImplementedError

    def close(self):
        pass

    def calls(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]


def _echo(params: dict) -> dict:
    return {key: value for key, value in params.items() if "[" not in key}


def signature_header(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """`Stripe-Signature` as Stripe computes it: HMAC-SHA256 of "<t>.<body>"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(event_type: str, obj: dict, *, created: int, event_id: str | None = None) -> dict:
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def deliver(payload: dict | str, *, secret: str = WEBHOOK_SECRET, header: str | None = None):
    """POST an event to the webhook URL on the root domain, signed unless `header` says
    otherwise."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    extra = {}
    signature = signature_header(body, secret=secret) if header is None else header
    if signature:
        extra["HTTP_STRIPE_SIGNATURE"] = signature
    return Client(HTTP_HOST="localhost").post(WEBHOOK_URL, body, content_type="application/json", **extra)


def subscription_object(
    *,
    subscription_id: str,
    customer: str,
    status: str = "active",
    price: str = TEAM_PRICE,
    period_end: int,
    organization: str = "",
    cancel_at_period_end: bool = False,
) -> dict:
    """A subscription as API 2026 sends it: the period on its items."""
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "trial_end": None,
        "metadata": {"organization": organization} if organization else {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": new_id("si"),
                    "object": "subscription_item",
                    "price": {"id": price, "object": "price"},
                    "current_period_start": period_end - 30 * 86400,
                    "current_period_end": period_end,
                }
            ],
        },
    }


def checkout_session_object(
    *, organization: str, customer: str, subscription_id: str, plan: str = "team", payment_status: str = "paid"
) -> dict:
    return {
        "id": new_id("cs"),
        "object": "checkout.session",
        "mode": "subscription",
        "client_reference_id": organization,
        "customer": customer,
        "subscription": subscription_id,
        "payment_status": payment_status,
        "status": "complete",
        "metadata": {"organization": organization, "plan": plan},
    }


def invoice_object(*, subscription_id: str, customer: str, period_end: int, status: str = "paid") -> dict:
    """An invoice as API 2026 sends it: its subscription under `parent`."""
    return {
        "id": new_id("in"),
        "object": "invoice",
        "customer": customer,
        "status": status,
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription_id}},
        "lines": {"object": "list", "data": [{"id": new_id("il"), "period": {"start": 0, "end": period_end}}]},
    }
