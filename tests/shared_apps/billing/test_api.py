from datetime import timedelta

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.billing.models import Plan, Subscription
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.services import project_create
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.shared_apps.billing.conftest import on_plan

JSON = "application/json"
ROLES = [OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST]
MANAGER_FIELDS = {
    "trial_end",
    "current_period_end",
    "next_invoice_date",
    "cancel_at_period_end",
    "past_due_since",
    "read_only_from",
    "has_billing_account",
}


@pytest.fixture
def people(org_a) -> dict[str, User]:
    people = {OrgRole.OWNER: User.objects.get(email="owner@alpha.test")}
    for role in ROLES[1:]:
        people[role] = UserFactory(email=f"{role}@alpha.test")
        membership_add(organization=org_a, user=people[role], role=role)
    return people


def _subscription(organization) -> tuple:
    row = Subscription.objects.get(organization=organization)
    return row.plan_id, row.status, row.stripe_customer_id, row.stripe_subscription_id, row.comped_plan_id


# --- GET /api/v1/billing/ --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_plan_and_usage_managers_also_the_money_side(billing_on, org_a, people, role):
    period_end = timezone.now() + timedelta(days=20)
    on_plan(
        org_a,
        "team",
        stripe_customer_id="cus_a",
        stripe_subscription_id="sub_a",
        current_period_end=period_end,
    )
    with schema_context(org_a.schema_name):
        project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))

    response = client_for(org_a, people[role]).get("/api/v1/billing/")

    assert response.status_code == 200
    body = response.json()
    assert (body["plan"], body["status"], body["billing_enabled"]) == ({"code": "team", "name": "Team"}, "active", True)
    assert body["limits"]["members"] == {"unit": "count", "usage": 4, "allowance": 50, "available": 46}
    assert body["limits"]["projects"]["usage"] == 1
    assert body["limits"]["storage_bytes"]["unit"] == "bytes"
    assert [plan["code"] for plan in body["plans"]] == ["free", "team", "business"]
    assert [plan["purchasable"] for plan in body["plans"]] == [False, True, True]
    if role in (OrgRole.OWNER, OrgRole.ADMIN):
        assert set(body) >= MANAGER_FIELDS
        assert body["next_invoice_date"] == body["current_period_end"]
        assert body["has_billing_account"] is True
    else:
        assert not MANAGER_FIELDS & set(body)


@pytest.mark.django_db
def test_billing_shows_a_new_organisations_trial(billing_on, org_a):
    trial_end = timezone.now() + timedelta(days=14)
    on_plan(org_a, "team", status=Subscription.Status.TRIALING, trial_end=trial_end)
    body = client_for(org_a, User.objects.get(email="owner@alpha.test")).get("/api/v1/billing/").json()
    assert (body["plan"]["code"], body["status"], body["next_invoice_date"]) == ("team", "trialing", None)
    assert body["trial_end"] == trial_end.isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
def test_billing_is_for_members_of_this_organisation_only(billing_on, org_a, org_b):
    outsider = User.objects.get(email="owner@bravo.test")
    assert client_for(org_a, outsider).get("/api/v1/billing/").status_code == 403
    assert client_for(org_a).get("/api/v1/billing/").status_code == 401
    # On their own domain they see their own organisation only.
    assert (
        client_for(org_b, outsider).get("/api/v1/billing/").json()["billing_url"] == "http://bravo.localhost/billing/"
    )


@pytest.mark.django_db
def test_billing_costs_the_same_queries_whatever_the_usage(billing_on, org_a, people):
    on_plan(org_a, "free")
    client = client_for(org_a, people[OrgRole.ADMIN])
    client.get("/api/v1/billing/")  # warm the host cache
    counts = []
    for key in ("ONE", "TWO"):
        with schema_context(org_a.schema_name):
            project_create(key=key, name=key, actor=Member.objects.get(email="owner@alpha.test"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/billing/").status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
    # search_path, user, subscription, 4 usages, plans (session and membership cached)
    assert counts[0] == 8


# --- Checkout and portal ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.GUEST])
def test_only_owners_start_checkout_or_open_the_portal(billing_on, stripe_http, org_a, people, role):
    on_plan(org_a, "free", stripe_customer_id="cus_a")
    before = _subscription(org_a)
    client = client_for(org_a, people[role])

    assert client.post("/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON).status_code == 403
    assert client.post("/api/v1/billing/portal/").status_code == 403
    assert stripe_http.requests == []
    assert _subscription(org_a) == before


@pytest.mark.django_db
def test_owners_of_another_organisation_cannot_buy_for_this_one(billing_on, stripe_http, org_a, org_b):
    on_plan(org_a, "free")
    before = _subscription(org_a)
    outsider = client_for(org_a, User.objects.get(email="owner@bravo.test"))
    assert outsider.post("/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON).status_code == 403
    assert outsider.post("/api/v1/billing/portal/").status_code == 403
    assert stripe_http.requests == []
    assert _subscription(org_a) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "required"),
        ({"plan": "platinum"}, "No plan"),
        ({"plan": "free"}, "Free needs no checkout"),
        ({"plan": "not a slug!"}, "valid"),
    ],
)
def test_checkout_refuses_bad_plans(billing_on, stripe_http, org_a, payload, message):
    on_plan(org_a, "free")
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post(
        "/api/v1/billing/checkout/", payload, content_type=JSON
    )
    assert response.status_code == 400
    assert message in str(response.json()["plan"])
    assert stripe_http.requests == []


@pytest.mark.django_db
def test_checkout_refuses_a_plan_without_a_stripe_price(billing_on, stripe_http, org_a):
    on_plan(org_a, "free")
    billing_on.STRIPE_PRICE_IDS = {"team": "", "business": ""}
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post(
        "/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON
    )
    assert response.status_code == 400
    assert "no Stripe price" in response.json()["plan"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "code"),
    [
        ({"stripe_subscription_id": "sub_live", "stripe_customer_id": "cus_a"}, "subscription_exists"),
        ({"comped": True}, "plan_granted"),
    ],
)
def test_checkout_conflicts_with_a_live_subscription_or_a_grant(billing_on, stripe_http, org_a, state, code):
    if state.pop("comped", False):
        state["comped_plan"] = Plan.objects.get(code="business")
    on_plan(org_a, "team", **state)
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post(
        "/api/v1/billing/checkout/", {"plan": "business"}, content_type=JSON
    )
    assert response.status_code == 409
    assert response.json()["code"] == code
    assert stripe_http.requests == []


@pytest.mark.django_db
def test_checkout_after_a_cancelled_subscription_is_allowed(billing_on, stripe_http, org_a):
    on_plan(
        org_a, "free", status=Subscription.Status.CANCELED, stripe_subscription_id="sub_old", stripe_customer_id="cus_a"
    )
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post(
        "/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON
    )
    assert response.status_code == 200
    assert stripe_http.calls("/v1/checkout/sessions")[0]["params"]["customer"] == "cus_a"


@pytest.mark.django_db
def test_checkout_and_portal_answer_503_with_billing_disabled(stripe_http, org_a):
    owner = client_for(org_a, User.objects.get(email="owner@alpha.test"))
    for response in (
        owner.post("/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON),
        owner.post("/api/v1/billing/portal/"),
    ):
        assert response.status_code == 503
        assert response.json()["code"] == "billing_disabled"
        assert "STRIPE_SECRET_KEY" in response.json()["detail"]
    assert stripe_http.requests == []


@pytest.mark.django_db
def test_stripe_unreachable_is_502_and_changes_nothing(billing_on, stripe_http, org_a):
    on_plan(org_a, "free")
    before = _subscription(org_a)
    stripe_http.failure = stripe.APIConnectionError("Network is unreachable")
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post(
        "/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON
    )
    assert response.status_code == 502
    assert response.json()["code"] == "stripe_unavailable"
    assert "Network is unreachable" in response.json()["detail"]
    assert _subscription(org_a) == before


@pytest.mark.django_db
def test_portal_opens_for_the_organisations_customer(billing_on, stripe_http, org_a):
    on_plan(org_a, "team", stripe_customer_id="cus_a", stripe_subscription_id="sub_a")
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post("/api/v1/billing/portal/")
    assert response.status_code == 200
    assert response.json()["url"].startswith("https://billing.stripe.com/p/session/")
    [call] = stripe_http.calls("/v1/billing_portal/sessions")
    assert call["params"] == {"customer": "cus_a", "return_url": "http://alpha.localhost/billing/"}


@pytest.mark.django_db
def test_portal_without_a_billing_account_is_409(billing_on, stripe_http, org_a):
    on_plan(org_a, "free")
    response = client_for(org_a, User.objects.get(email="owner@alpha.test")).post("/api/v1/billing/portal/")
    assert response.status_code == 409
    assert response.json()["code"] == "no_billing_account"
    assert stripe_http.requests == []


# --- The billing page ------------------------------------------------------------------


@pytest.mark.django_db
def test_billing_page_shows_usage_and_sends_owners_to_stripe(billing_on, stripe_http, org_a, people):
    on_plan(org_a, "free")
    owner = client_for(org_a, people[OrgRole.OWNER])

    page = owner.get("/billing/")
    assert page.status_code == 200
    assert "Free" in page.text
    assert "Upgrade to Team" in page.text
    member_page = client_for(org_a, people[OrgRole.MEMBER]).get("/billing/")
    assert "Only owners change the plan." in member_page.text

    response = owner.post("/billing/", {"action": "checkout", "plan": "team"})
    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/")
    refused = client_for(org_a, people[OrgRole.MEMBER]).post("/billing/", {"action": "checkout", "plan": "team"})
    assert refused.status_code == 403
    bad = owner.post("/billing/", {"action": "checkout", "plan": "nope"})
    assert bad.status_code == 400
    assert "No plan" in bad.text
    assert owner.get("/billing/?checkout=success").text.count("Thank you!") == 1


@pytest.mark.django_db
def test_billing_page_is_for_members(org_a, org_b):
    assert client_for(org_a).get("/billing/").status_code == 302  # to login
    assert client_for(org_a, User.objects.get(email="owner@bravo.test")).get("/billing/").status_code == 403
