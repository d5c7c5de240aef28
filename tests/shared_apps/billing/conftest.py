import pytest
import stripe

from shared_apps.billing.models import FREE, Plan, Subscription
from tests.shared_apps.billing.stripe_fake import BUSINESS_PRICE, TEAM_PRICE, WEBHOOK_SECRET, FakeStripeHttp


@pytest.fixture
def billing_on(settings):
    """Billing enabled with test keys; Stripe answers from a fake HTTP client."""
    settings.STRIPE_SECRET_KEY = "sk_test_tessera"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_IDS = {"team": TEAM_PRICE, "business": BUSINESS_PRICE}
    return settings


@pytest.fixture
def stripe_http(monkeypatch) -> FakeStripeHttp:
    fake = FakeStripeHttp()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


def on_plan(organization, code: str = FREE, **fields) -> Subscription:
    """Put `organization` on plan `code` (active, no Stripe subscription) — rolled back
    with the test."""
    subscription, _created = Subscription.objects.update_or_create(
        organization=organization,
        defaults={
            "plan": Plan.objects.get(code=code),
            "status": Subscription.Status.ACTIVE,
            "trial_end": None,
            "stripe_customer_id": "",
            "stripe_subscription_id": "",
            "stripe_state_at": None,
            "stripe_state_rank": 0,
            "past_due_since": None,
            "comped_plan": None,
            **fields,
        },
    )
    return subscription


def set_allowance(code: str, **allowances) -> None:
    Plan.objects.filter(code=code).update(**allowances)
