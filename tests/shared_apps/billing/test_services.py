from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.billing.limits import plan_effective
from shared_apps.billing.models import Subscription
from shared_apps.billing.services import trials_expire
from shared_apps.billing.tasks import trials_expire_task
from shared_apps.tenants.services import organization_create
from tests.conftest import client_for
from tests.shared_apps.billing.conftest import on_plan


@pytest.mark.django_db
@pytest.mark.parametrize(("days", "plan", "status"), [(14, "team", "trialing"), (0, "free", "active")])
def test_a_new_organisation_starts_on_a_team_trial_or_on_free(settings, days, plan, status):
    settings.TESSERA_TRIAL_DAYS = days
    owner = User.objects.create_user(email="new@trial.test", password="pw")
    started = timezone.now()

    organization = organization_create(slug="trial-co", name="Trial", owner=owner)

    subscription = Subscription.objects.get(organization=organization)
    assert (subscription.plan.code, subscription.status) == (plan, status)
    if days:
        assert started + timedelta(days=days) <= subscription.trial_end <= timezone.now() + timedelta(days=days)
    else:
        assert subscription.trial_end is None


@pytest.mark.django_db
def test_an_organisation_from_before_billing_resolves_to_free(billing_on, org_a):
    Subscription.objects.filter(organization=org_a).delete()
    body = client_for(org_a, User.objects.get(email="owner@alpha.test")).get("/api/v1/billing/").json()
    assert (body["plan"]["code"], body["status"]) == ("free", "active")
    assert Subscription.objects.filter(organization=org_a).count() == 1


@pytest.mark.django_db
def test_an_expired_trial_limits_like_free_at_once_and_the_job_records_it(billing_on, org_a, org_b):
    on_plan(org_a, "team", status=Subscription.Status.TRIALING, trial_end=timezone.now() - timedelta(minutes=1))
    on_plan(org_b, "team", status=Subscription.Status.TRIALING, trial_end=timezone.now() + timedelta(days=3))
    expired = Subscription.objects.get(organization=org_a)
    assert plan_effective(expired).code == "free"
    assert (
        client_for(org_a, User.objects.get(email="owner@alpha.test")).get("/api/v1/billing/").json()["plan"]["code"]
        == "free"
    )

    assert trials_expire_task.apply().get() == 1

    expired.refresh_from_db()
    assert (expired.plan.code, expired.status) == ("free", "active")
    assert Subscription.objects.get(organization=org_b).status == "trialing"
    assert trials_expire() == 0
