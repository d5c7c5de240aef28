import time

import pytest

from shared_apps.billing.models import Plan, Subscription, WebhookEvent
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.shared_apps.billing.conftest import on_plan
from tests.shared_apps.billing.stripe_fake import checkout_session_object, deliver, event


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(staff):
    return client_for(None, staff)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/admin/billing/plan/", "/admin/billing/subscription/?q=alpha", "/admin/billing/webhookevent/"]
)
def test_staff_see_plans_subscriptions_and_events(staff_client, org_a, path):
    assert staff_client.get(path).status_code == 200


@pytest.mark.django_db
def test_staff_see_a_subscription_and_an_event(billing_on, staff_client, org_a):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a"),
        created=int(time.time()),
    )
    deliver(completed)
    subscription = Subscription.objects.get(organization=org_a)
    stored = WebhookEvent.objects.get(stripe_event_id=completed["id"])

    page = staff_client.get(f"/admin/billing/subscription/{subscription.pk}/change/")
    assert page.status_code == 200
    assert "sub_a" in page.text
    page = staff_client.get(f"/admin/billing/webhookevent/{stored.pk}/change/")
    assert page.status_code == 200
    assert "checkout completed: team" in page.text


@pytest.mark.django_db
def test_staff_grant_a_plan_from_the_list_and_end_it(billing_on, staff_client, org_a):
    on_plan(org_a, "free")
    subscription = Subscription.objects.get(organization=org_a)

    staff_client.post(
        "/admin/billing/subscription/", {"action": "grant_business", "_selected_action": [subscription.pk]}
    )

    subscription.refresh_from_db()
    assert subscription.comped_plan.code == "business"
    assert subscription.plan.code == "free"  # the paid (Stripe) side is untouched
    owner = client_for(org_a, org_a.memberships.get(role="owner").user)
    billing = owner.get("/api/v1/billing/").json()
    assert (billing["plan"]["code"], billing["comped"], billing["limits"]["members"]["allowance"]) == (
        "business",
        True,
        None,
    )

    staff_client.post("/admin/billing/subscription/", {"action": "end_grant", "_selected_action": [subscription.pk]})

    assert owner.get("/api/v1/billing/").json()["plan"]["code"] == "free"


@pytest.mark.django_db
def test_staff_grant_with_a_note_in_the_form(billing_on, staff, staff_client, org_a):
    on_plan(org_a, "free")
    subscription = Subscription.objects.get(organization=org_a)
    team = Plan.objects.get(code="team")

    response = staff_client.post(
        f"/admin/billing/subscription/{subscription.pk}/change/",
        {"comped_plan": team.pk, "comped_note": "Non-profit"},
    )

    assert response.status_code == 302, response.content
    subscription.refresh_from_db()
    assert (subscription.comped_plan, subscription.comped_note, subscription.comped_by) == (team, "Non-profit", staff)


@pytest.mark.django_db
def test_staff_edit_a_plans_limits_but_cannot_delete_free(staff_client):
    team = Plan.objects.get(code="team")
    response = staff_client.post(
        f"/admin/billing/plan/{team.pk}/change/",
        {
            "name": "Team",
            "stripe_price_id": "price_from_admin",
            "max_members": 75,
            "max_projects": 50,
            "max_storage_bytes": team.max_storage_bytes,
            "max_reports_per_month": "",
            "position": 1,
        },
    )
    assert response.status_code == 302, response.content
    team.refresh_from_db()
    assert (team.max_members, team.max_reports_per_month, team.price_id) == (75, None, "price_from_admin")
    free = Plan.objects.get(code="free")
    assert staff_client.post(f"/admin/billing/plan/{free.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Plan.objects.filter(code="free").exists()


@pytest.mark.django_db
def test_staff_process_a_failed_event_again(billing_on, staff_client, org_a, monkeypatch):
    from shared_apps.billing import webhooks

    on_plan(org_a, "free", stripe_customer_id="cus_a")
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer="cus_a", subscription_id="sub_a"),
        created=int(time.time()),
    )
    monkeypatch.setattr(webhooks, "_checkout_completed", lambda *args: 1 / 0)
    assert deliver(completed).status_code == 500
    monkeypatch.undo()
    stored = WebhookEvent.objects.get(stripe_event_id=completed["id"])

    staff_client.post("/admin/billing/webhookevent/", {"action": "process_again", "_selected_action": [stored.pk]})

    stored.refresh_from_db()
    assert stored.processed_at is not None
    assert Subscription.objects.get(organization=org_a).plan.code == "team"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("secret_key", "webhook_secret", "notice"),
    [
        ("", "", "Billing is disabled"),
        ("sk_test_x", "", "STRIPE_WEBHOOK_SECRET is not set"),
        ("sk_test_x", "whsec_x", None),
    ],
)
def test_the_admin_says_when_billing_is_off(staff_client, settings, secret_key, webhook_secret, notice):
    settings.STRIPE_SECRET_KEY = secret_key
    settings.STRIPE_WEBHOOK_SECRET = webhook_secret
    page = staff_client.get("/admin/").text
    if notice:
        assert notice in page
    else:
        assert "Billing is disabled" not in page
        assert "STRIPE_WEBHOOK_SECRET" not in page
