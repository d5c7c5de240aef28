import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.billing import webhooks
from shared_apps.billing.models import Plan, Subscription, WebhookEvent
from shared_apps.tenants.services import organization_create
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Event, EventKind
from tenant_apps.notifications.texts import event_text_in
from tests.conftest import client_for
from tests.helpers import run_together
from tests.shared_apps.billing.conftest import on_plan
from tests.shared_apps.billing.stripe_fake import (
    BUSINESS_PRICE,
    TEAM_PRICE,
    WEBHOOK_URL,
    checkout_session_object,
    deliver,
    event,
    invoice_object,
    new_id,
    signature_header,
    subscription_object,
)

JSON = "application/json"
DAY = 86400


def _state(organization) -> tuple:
    subscription = Subscription.objects.select_related("plan").get(organization=organization)
    return (
        subscription.plan.code,
        subscription.status,
        subscription.stripe_subscription_id,
        subscription.current_period_end,
        subscription.past_due_since,
    )


def _owner(organization) -> User:
    return User.objects.get(email=f"owner@{organization.slug}.test")


@pytest.mark.django_db
def test_checkout_then_completed_webhook_puts_the_organisation_on_team(billing_on, stripe_http, org_a):
    on_plan(org_a, "free")
    owner = client_for(org_a, _owner(org_a))

    response = owner.post("/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON)

    assert response.status_code == 200, response.content
    assert response.json()["url"].startswith("https://checkout.stripe.com/c/pay/cs_")
    [customer_call] = stripe_http.calls("/v1/customers")
    [session_call] = stripe_http.calls("/v1/checkout/sessions")
    customer_id = Subscription.objects.get(organization=org_a).stripe_customer_id
    assert customer_id.startswith("cus_")
    assert customer_call["params"]["email"] == "owner@alpha.test"
    assert customer_call["headers"]["Authorization"] == "Bearer sk_test_tessera"
    params = session_call["params"]
    assert params["mode"] == "subscription"
    assert params["client_reference_id"] == org_a.schema_name
    assert params["customer"] == customer_id
    assert params["line_items[0][price]"] == TEAM_PRICE
    assert params["subscription_data[metadata][organization]"] == org_a.schema_name
    assert params["success_url"] == "http://alpha.localhost/billing/?checkout=success"
    # Nothing changes until Stripe says the payment went through.
    assert client_for(org_a, _owner(org_a)).get("/api/v1/billing/").json()["plan"]["code"] == "free"

    subscription_id = new_id("sub")
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer=customer_id, subscription_id=subscription_id),
        created=int(time.time()),
    )
    assert deliver(completed).status_code == 200

    billing = owner.get("/api/v1/billing/").json()
    team = Plan.objects.get(code="team")
    assert (billing["plan"]["code"], billing["status"]) == ("team", "active")
    assert billing["limits"]["members"]["allowance"] == team.max_members == 50
    assert billing["limits"]["projects"]["allowance"] == team.max_projects
    assert billing["limits"]["storage_bytes"]["allowance"] == team.max_storage_bytes
    assert billing["limits"]["reports_per_month"]["allowance"] == team.max_reports_per_month
    assert Subscription.objects.get(organization=org_a).stripe_subscription_id == subscription_id


@pytest.mark.django_db
def test_a_second_checkout_reuses_the_stripe_customer(billing_on, stripe_http, org_a):
    on_plan(org_a, "free", stripe_customer_id="cus_existing")
    owner = client_for(org_a, _owner(org_a))

    assert owner.post("/api/v1/billing/checkout/", {"plan": "business"}, content_type=JSON).status_code == 200

    assert stripe_http.calls("/v1/customers") == []
    [session_call] = stripe_http.calls("/v1/checkout/sessions")
    assert session_call["params"]["customer"] == "cus_existing"
    assert session_call["params"]["line_items[0][price]"] == BUSINESS_PRICE


@pytest.mark.django_db
def test_the_same_event_delivered_twice_is_processed_once(billing_on, org_a, monkeypatch):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    dispatched = []
    original = webhooks._dispatch
    monkeypatch.setattr(webhooks, "_dispatch", lambda row: dispatched.append(row.pk) or original(row))
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a"),
        created=int(time.time()),
    )

    first, second = deliver(completed), deliver(completed)

    assert (first.status_code, first.json()["replay"]) == (200, False)
    assert (second.status_code, second.json()["replay"]) == (200, True)
    assert len(dispatched) == 1
    stored = WebhookEvent.objects.get(stripe_event_id=completed["id"])
    assert (stored.attempts, stored.organization_id) == (1, org_a.pk)
    assert _state(org_a)[:3] == ("team", "active", "sub_a")


@pytest.mark.django_db
@pytest.mark.parametrize("gap", [5, 0], ids=["updated-later", "same-second"])
def test_subscription_updated_before_created_ends_in_the_updated_state(billing_on, org_a, gap):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    now = int(time.time())
    created = event(
        "customer.subscription.created",
        subscription_object(
            subscription_id="sub_a", customer="cus_a", status="incomplete", price=TEAM_PRICE, period_end=now + 30 * DAY
        ),
        created=now,
    )
    updated = event(
        "customer.subscription.updated",
        subscription_object(
            subscription_id="sub_a", customer="cus_a", status="active", price=BUSINESS_PRICE, period_end=now + 31 * DAY
        ),
        created=now + gap,
    )

    assert deliver(updated).status_code == 200
    assert deliver(created).status_code == 200

    plan, status, subscription_id, period_end, _since = _state(org_a)
    assert (plan, status, subscription_id) == ("business", "active", "sub_a")
    assert period_end == datetime.fromtimestamp(now + 31 * DAY, tz=UTC)
    assert WebhookEvent.objects.get(stripe_event_id=created["id"]).outcome.startswith("ignored: older")


@pytest.mark.django_db
def test_created_then_updated_in_order_applies_both(billing_on, org_a):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    now = int(time.time())
    for offset, status in ((0, "incomplete"), (3, "active")):
        kind = "created" if offset == 0 else "updated"
        obj = subscription_object(subscription_id="sub_a", customer="cus_a", status=status, period_end=now + 30 * DAY)
        assert deliver(event(f"customer.subscription.{kind}", obj, created=now + offset)).status_code == 200
        expected = ("free", "active") if status == "incomplete" else ("team", "active")
        assert _state(org_a)[:2] == expected  # incomplete grants nothing yet


@pytest.mark.django_db
def test_a_late_update_never_revives_a_deleted_subscription(billing_on, org_a):
    on_plan(org_a, "team", stripe_customer_id="cus_a", stripe_subscription_id="sub_a")
    now = int(time.time())
    obj = subscription_object(subscription_id="sub_a", customer="cus_a", period_end=now + 30 * DAY)
    deleted = event("customer.subscription.deleted", {**obj, "status": "canceled"}, created=now)
    late_update = event("customer.subscription.updated", obj, created=now + 1)

    deliver(deleted)
    deliver(late_update)

    assert _state(org_a)[:2] == ("free", "canceled")


@pytest.mark.django_db
def test_the_end_of_an_old_subscription_leaves_the_new_one_alone(billing_on, org_a):
    now = int(time.time())
    on_plan(org_a, "business", stripe_customer_id="cus_a", stripe_subscription_id="sub_new")
    old = subscription_object(subscription_id="sub_old", customer="cus_a", status="canceled", period_end=now)

    assert deliver(event("customer.subscription.deleted", old, created=now + 10)).status_code == 200

    assert _state(org_a)[:3] == ("business", "active", "sub_new")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    ["wrong secret", "missing header", "body changed", "too old", "garbage header"],
)
def test_bad_or_missing_signature_is_400_and_changes_nothing(billing_on, org_a, tamper):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    before = (_state(org_a), WebhookEvent.objects.count())
    payload = json.dumps(
        event(
            "checkout.session.completed",
            checkout_session_object(organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a"),
            created=int(time.time()),
        )
    )
    headers = {
        "wrong secret": signature_header(payload, secret="whsec_someone_else"),
        "missing header": "",
        "body changed": signature_header(payload.replace("sub_a", "sub_b")),
        "too old": signature_header(payload, timestamp=int(time.time()) - 600),
        "garbage header": "t=yesterday,v1=nothing",
    }

    response = deliver(payload, header=headers[tamper])

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_event"
    assert (_state(org_a), WebhookEvent.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"id": "evt_1", "type": "x"}'])
def test_a_signed_body_that_is_not_an_event_is_400(billing_on, body):
    response = deliver(body)
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_webhooks_answer_503_without_a_signing_secret(billing_on, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = deliver(event("invoice.paid", {}, created=int(time.time())))
    assert response.status_code == 503
    assert "STRIPE_WEBHOOK_SECRET" in response.json()["detail"]


@pytest.mark.django_db
def test_webhook_accepts_only_post():
    assert Client(HTTP_HOST="localhost").get(WEBHOOK_URL).status_code == 405


@pytest.mark.django_db
def test_unknown_event_types_are_stored_and_acknowledged(billing_on):
    unknown = event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"}, created=int(time.time()))

    response = deliver(unknown)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_event_id=unknown["id"])
    assert stored.processed_at is not None
    assert stored.outcome == "not handled (stored only)"
    assert stored.payload == unknown


@pytest.mark.django_db
def test_an_event_for_no_known_organisation_is_acknowledged_and_changes_nothing(billing_on, org_a, org_b):
    before = (_state(org_a), _state(org_b))
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization="org_elsewhere", customer="cus_unknown", subscription_id="sub_x"),
        created=int(time.time()),
    )

    response = deliver(completed)

    assert response.status_code == 200
    assert WebhookEvent.objects.get(stripe_event_id=completed["id"]).outcome == "ignored: no organisation matches"
    assert (_state(org_a), _state(org_b)) == before


@pytest.mark.django_db
def test_an_event_changes_only_the_organisation_it_names(billing_on, org_a, org_b):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    on_plan(org_b, "free", stripe_customer_id="cus_b")
    before_b = _state(org_b)
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a"),
        created=int(time.time()),
    )

    deliver(completed)

    assert _state(org_a)[:2] == ("team", "active")
    assert _state(org_b) == before_b


@pytest.mark.django_db
def test_a_failed_processing_is_kept_and_retried(billing_on, org_a, monkeypatch):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a"),
        created=int(time.time()),
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(webhooks, "_checkout_completed", broken)
    failed = deliver(completed)
    assert failed.status_code == 500
    stored = WebhookEvent.objects.get(stripe_event_id=completed["id"])
    assert (stored.processed_at, stored.attempts) == (None, 1)
    assert "database hiccup" in stored.error
    assert _state(org_a)[0] == "free"

    monkeypatch.undo()
    retried = deliver(completed)  # Stripe's retry
    assert (retried.status_code, retried.json()["replay"]) == (200, False)
    stored.refresh_from_db()
    assert (stored.attempts, stored.error) == (2, "")
    assert _state(org_a)[:2] == ("team", "active")


# --- Invoices: past due, grace period, read-only ---------------------------------------


def _live_team(organization) -> None:
    on_plan(organization, "team", stripe_customer_id="cus_a", stripe_subscription_id="sub_a")


@pytest.mark.django_db
def test_payment_failed_marks_past_due_and_paid_clears_it(billing_on, org_a):
    _live_team(org_a)
    now = int(time.time())
    failed = event(
        "invoice.payment_failed",
        invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now + 30 * DAY, status="open"),
        created=now,
    )
    paid = event(
        "invoice.paid",
        invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now + 30 * DAY),
        created=now + 60,
    )

    deliver(failed)
    plan, status, _sub, _end, since = _state(org_a)
    assert (plan, status) == ("team", "past_due")
    assert since == datetime.fromtimestamp(now, tz=UTC)

    deliver(paid)
    plan, status, _sub, period_end, since = _state(org_a)
    assert (plan, status, since) == ("team", "active", None)
    assert period_end == datetime.fromtimestamp(now + 30 * DAY, tz=UTC)


@pytest.mark.django_db
def test_a_late_payment_failure_does_not_undo_a_later_payment(billing_on, org_a):
    _live_team(org_a)
    now = int(time.time())
    failed = event(
        "invoice.payment_failed",
        invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now, status="open"),
        created=now,
    )
    paid = event(
        "invoice.paid", invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now), created=now + 60
    )

    deliver(paid)
    deliver(failed)

    assert _state(org_a)[1] == "active"


def test_the_same_event_delivered_concurrently_is_processed_once(committed, settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_tessera"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_tessera_0123456789"
    owner = User.objects.create_user(email="racer@billing.test", password="pw")
    organization = organization_create(slug="webhook-race", name="Webhook race", owner=owner)
    dispatched = []
    original = webhooks._dispatch

    def slow_dispatch(row):
        dispatched.append(row.pk)
        time.sleep(0.2)  # holds the event row while the other delivery arrives
        return original(row)

    monkeypatch.setattr(webhooks, "_dispatch", slow_dispatch)
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=organization.schema_name, customer="cus_race", subscription_id="sub_race"),
        created=int(time.time()),
    )
    try:
        responses = run_together(2, lambda index: deliver(completed))

        assert [response.status_code for response in responses] == [200, 200]
        assert sorted(response.json()["replay"] for response in responses) == [False, True]
        assert len(dispatched) == 1
        assert Subscription.objects.get(organization=organization).plan.code == "team"
    finally:
        WebhookEvent.objects.filter(stripe_event_id=completed["id"]).delete()


@pytest.mark.django_db
def test_a_checkout_still_waiting_for_a_bank_payment_grants_nothing_yet(billing_on, org_a):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    now = int(time.time())
    pending = event(
        "checkout.session.completed",
        checkout_session_object(
            organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a", payment_status="unpaid"
        ),
        created=now,
    )
    assert deliver(pending).status_code == 200
    assert _state(org_a)[:2] == ("free", "active")

    paid = subscription_object(subscription_id="sub_a", customer="cus_a", status="active", period_end=now + 30 * DAY)
    assert deliver(event("customer.subscription.updated", paid, created=now + 60)).status_code == 200
    assert _state(org_a)[:3] == ("team", "active", "sub_a")


@pytest.mark.django_db
def test_a_failed_payment_tells_owners_and_admins_once_per_past_due_period(billing_on, org_a):
    _live_team(org_a)
    now = int(time.time())

    def failed(at: int):
        invoice = invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now + 30 * DAY, status="open")
        return event("invoice.payment_failed", invoice, created=at)

    deliver(failed(now))
    deliver(failed(now + 60))  # Stripe retries the charge: still the same past-due period
    with schema_context(org_a.schema_name):
        (notice,) = Event.objects.filter(kind=EventKind.BILLING_PAST_DUE)
        owner = Member.objects.get(email="owner@alpha.test")
        assert notice.payload["member_ids"] == [owner.pk]
        read_only_on = (datetime.fromtimestamp(now, tz=UTC) + timedelta(days=7)).date().isoformat()
        assert notice.payload["read_only_on"] == read_only_on
        assert event_text_in(notice, "en") == (
            f"Payment for Alpha Corp failed: update the payment method by {read_only_on} to keep editing"
        )
        assert event_text_in(notice, "ru").startswith("Платёж")
    paid = event(
        "invoice.paid",
        invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now + 30 * DAY),
        created=now + 120,
    )
    deliver(paid)
    deliver(failed(now + 180))  # a new period of trouble: told again
    with schema_context(org_a.schema_name):
        assert Event.objects.filter(kind=EventKind.BILLING_PAST_DUE).count() == 2


@pytest.mark.django_db
def test_a_second_live_subscription_never_replaces_the_current_one(billing_on, org_a):
    """Two checkouts paid at once: the organisation keeps the first; the second is logged
    for staff to cancel (and refund) in Stripe."""
    _live_team(org_a)
    now = int(time.time())
    second = subscription_object(subscription_id="sub_b", customer="cus_a", period_end=now + 30 * DAY)
    response = deliver(event("customer.subscription.created", second, created=now + 10))
    assert response.status_code == 200
    assert _state(org_a)[:3] == ("team", "active", "sub_a")
    assert "second live subscription sub_b" in WebhookEvent.objects.get().outcome
    # Cancelling that second one does not touch the organisation either.
    ended = subscription_object(subscription_id="sub_b", customer="cus_a", status="canceled", period_end=now)
    deliver(event("customer.subscription.deleted", ended, created=now + 20))
    assert _state(org_a)[:3] == ("team", "active", "sub_a")


@pytest.mark.django_db
def test_an_old_event_of_an_earlier_subscription_does_not_bring_a_plan_back(billing_on, org_a):
    _live_team(org_a)
    now = int(time.time())
    ended = subscription_object(subscription_id="sub_a", customer="cus_a", status="canceled", period_end=now)
    deliver(event("customer.subscription.deleted", ended, created=now))
    assert _state(org_a)[:2] == ("free", "canceled")
    # Months-old news about an earlier subscription (a Stripe retry, "process again").
    stale = subscription_object(subscription_id="sub_old", customer="cus_a", period_end=now + 30 * DAY)
    deliver(event("customer.subscription.updated", stale, created=now - 90 * DAY))
    assert _state(org_a)[:3] == ("free", "canceled", "sub_a")


@pytest.mark.django_db
def test_a_failed_proration_invoice_does_not_make_the_organisation_past_due(billing_on, org_a):
    _live_team(org_a)
    now = int(time.time())
    invoice = invoice_object(subscription_id="sub_a", customer="cus_a", period_end=now + 30 * DAY, status="open")
    invoice["billing_reason"] = "subscription_update"
    deliver(event("invoice.payment_failed", invoice, created=now))
    assert _state(org_a)[1] == "active"
    assert _state(org_a)[4] is None
    with schema_context(org_a.schema_name):
        assert not Event.objects.filter(kind=EventKind.BILLING_PAST_DUE).exists()
