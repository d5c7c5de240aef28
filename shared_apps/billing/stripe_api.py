"""The Stripe API client. Tests replace the HTTP layer (`stripe.default_http_client`), so
every call below really goes through the stripe package, with no network."""

import logging

import stripe
from django.conf import settings

from shared_apps.billing.exceptions import StripeUnavailable

logger = logging.getLogger(__name__)

_http_client: stripe.HTTPClient | None = None


def _http() -> stripe.HTTPClient:
    """`stripe.default_http_client` when one is installed (tests install a fake there),
    else one requests-based client with our timeout, shared by the process."""
    global _http_client
    if stripe.default_http_client is not None:
        return stripe.default_http_client
    if _http_client is None:
        _http_client = stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)
    return _http_client


def stripe_client() -> stripe.StripeClient:
    # Two retries: the library sends an idempotency key with every POST, so a retried
    # create never creates twice.
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, http_client=_http(), max_network_retries=2)


def stripe_call(what: str, call):
    """Run `call()` (a Stripe API request); a Stripe error becomes StripeUnavailable (502)
    with the reason Stripe gave, logged with its request id."""
    try:
        return call()
    except stripe.StripeError as exc:
        logger.warning("stripe: %s failed: %s (request %s)", what, exc.user_message or exc, exc.request_id)
        reason = exc.user_message or "no answer"
        raise StripeUnavailable(
            f"Stripe could not {what}: {reason}. Nothing was changed; try again in a moment.",
        ) from exc
