"""Reads for the billing page and API."""

from django.utils import timezone

from shared_apps.billing.limits import (
    billing_enabled,
    billing_url,
    is_read_only,
    plan_effective,
    read_only_from,
    status_effective,
    subscription_ensure,
    usage_get,
)
from shared_apps.billing.models import FREE, LIMITS, Plan, Subscription
from shared_apps.tenants.models import Organization


def _limits(plan: Plan | None) -> dict[str, int | None]:
    return {name: (plan.allowance(name) if plan is not None else None) for name in LIMITS}


def billing_overview(*, organization: Organization, full: bool) -> dict:
    """The organisation's plan, status and usage against each limit, and the plans on
    offer. With `full` (owners and admins) also the money side: period end, next
    invoice, trial end, past-due dates, whether a Stripe customer exists."""
    now = timezone.now()
    enabled = billing_enabled()
    subscription = subscription_ensure(organization)
    plan = plan_effective(subscription, now)
    allowances = _limits(plan if enabled else None)
    limits = {}
    for name, limit in LIMITS.items():
        usage = usage_get(organization, name)
        allowance = allowances[name]
        limits[name] = {
            "unit": limit.unit,
            "usage": usage,
            "allowance": allowance,
            "available": None if allowance is None or usage is None else max(allowance - usage, 0),
        }
    status = status_effective(subscription, now)
    data = {
        "billing_enabled": enabled,
        "plan": {"code": plan.code, "name": plan.name},
        "status": status,
        "comped": subscription.is_comped,
        "read_only": is_read_only(subscription, now),
        "limits": limits,
        "billing_url": billing_url(organization),
        "plans": [
            {
                "code": offered.code,
                "name": offered.name,
                "limits": _limits(offered),
                "purchasable": enabled and offered.code != FREE and bool(offered.price_id),
            }
            for offered in Plan.objects.all()
        ],
    }
    if full:
        renews = (
            subscription.stripe_subscription_id
            and status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING, Subscription.Status.PAST_DUE)
            and not subscription.cancel_at_period_end
            and not subscription.is_comped
        )
        data |= {
            "trial_end": subscription.trial_end if status == Subscription.Status.TRIALING else None,
            "current_period_end": subscription.current_period_end,
            "next_invoice_date": subscription.current_period_end if renews else None,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "past_due_since": subscription.past_due_since if status == Subscription.Status.PAST_DUE else None,
            "read_only_from": read_only_from(subscription) if enabled else None,
            "has_billing_account": bool(subscription.stripe_customer_id),
        }
    return data
