"""Writes to subscriptions: the start of a trial, plans granted by staff, Stripe Checkout
and customer portal sessions, trial expiry. Stripe's own changes arrive as webhooks
(webhooks.py)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.audit.services import audit_record, audit_target
from shared_apps.billing.exceptions import BillingConflict, BillingDisabled
from shared_apps.billing.limits import billing_enabled, billing_url, plan_free, subscription_ensure
from shared_apps.billing.models import FREE, TEAM, Plan, Subscription
from shared_apps.billing.stripe_api import stripe_call, stripe_client
from shared_apps.tenants.models import Organization

logger = logging.getLogger(__name__)

# Stripe statuses with a subscription that still bills (or will): a second one from
# Checkout would charge the organisation twice.
_LIVE = (Subscription.Status.TRIALING, Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)


def subscription_start(*, organization: Organization) -> Subscription:
    """The subscription of a newly activated organisation: a Team trial of
    TESSERA_TRIAL_DAYS days, or Free when that is 0 (or there is no Team plan).
    Idempotent: an existing subscription is returned unchanged."""
    days = settings.TESSERA_TRIAL_DAYS
    team = Plan.objects.filter(code=TEAM).first() if days > 0 else None
    if team is not None:
        defaults = {
            "plan": team,
            "status": Subscription.Status.TRIALING,
            "trial_end": timezone.now() + timedelta(days=days),
        }
    else:
        defaults = {"plan": plan_free(), "status": Subscription.Status.ACTIVE}
    subscription, _created = Subscription.objects.get_or_create(organization=organization, defaults=defaults)
    return subscription


def subscription_comp_set(*, subscription: Subscription, plan: Plan, actor: User, note: str = "") -> Subscription:
    """Grant `plan` free of charge (platform staff): its limits apply, whatever Stripe
    says, until the grant ends. A Stripe subscription keeps its own state meanwhile."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = locked.comped_plan.code if locked.comped_plan_id else None
        locked.comped_plan = plan
        locked.comped_by = actor
        locked.comped_at = timezone.now()
        locked.comped_note = note[:255]
        locked.save(update_fields=["comped_plan", "comped_by", "comped_at", "comped_note", "updated_at"])
        _grant_audit(subscription=locked, actor=actor, before=before, after=plan.code, note=locked.comped_note)
    logger.info("billing: %s granted %s to %s", actor, plan.code, locked.organization_id)
    return locked


def subscription_comp_end(*, subscription: Subscription, actor: User) -> Subscription:
    """End a staff grant: the paid plan (Stripe's) or Free applies again."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = locked.comped_plan.code if locked.comped_plan_id else None
        locked.comped_plan = None
        locked.comped_at = None
        locked.comped_by = None
        locked.comped_note = ""
        locked.save(update_fields=["comped_plan", "comped_by", "comped_at", "comped_note", "updated_at"])
        _grant_audit(subscription=locked, actor=actor, before=before, after=None)
    logger.info("billing: %s ended the grant of %s", actor, locked.organization_id)
    return locked


def _grant_audit(*, subscription: Subscription, actor: User, before, after, note: str = "") -> None:
    """A staff grant is a platform staff action: the platform's log (public)."""
    organization = subscription.organization
    audit_record(
        action="plan.changed",
        actor=actor,
        target=audit_target(organization, organization.slug),
        before={"granted_plan": before},
        after={"granted_plan": after, **({"note": note} if note else {})},
        public=True,
    )


def trials_expire(*, now=None) -> int:
    """Move organisations whose Tessera trial (no Stripe subscription) has ended to Free.
    Limits already treat them as Free from the trial's end (limits.plan_effective); this
    makes the stored state say so. Returns how many changed."""
    now = now or timezone.now()
    expired = Subscription.objects.filter(
        status=Subscription.Status.TRIALING, stripe_subscription_id="", trial_end__lte=now
    )
    return expired.update(plan=plan_free(), status=Subscription.Status.ACTIVE, updated_at=now)


def _require_enabled() -> None:
    if not billing_enabled():
        raise BillingDisabled(
            "Billing is disabled on this server (STRIPE_SECRET_KEY is not set): every organisation is unlimited."
        )


def _customer_ensure(*, subscription: Subscription, actor: User) -> str:
    """The organisation's Stripe customer, created once: the row stays locked while
    Stripe creates it, so two owners clicking at once do not make two customers."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().select_related("organization").get(pk=subscription.pk)
        if locked.stripe_customer_id:
            return locked.stripe_customer_id
        organization = locked.organization
        customer = stripe_call(
            "create the billing customer",
            lambda: stripe_client().v1.customers.create(
                params={
                    "email": actor.email,
                    "name": organization.name,
                    "metadata": {"organization": organization.schema_name, "organization_slug": organization.slug},
                }
            ),
        )
        locked.stripe_customer_id = customer.id
        locked.save(update_fields=["stripe_customer_id", "updated_at"])
    return customer.id


def checkout_session_create(*, organization: Organization, plan_code: str, actor: User) -> str:
    """Start an upgrade to a paid plan: a Stripe Checkout Session for the plan's price,
    for the organisation's Stripe customer (created first if there is none) with the
    organisation as `client_reference_id`. Returns the URL to send the owner to; the
    plan changes when Stripe confirms (webhook `checkout.session.completed`)."""
    _require_enabled()
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None:
        raise ValidationError({"plan": f"No plan “{plan_code}”."})
    if plan.code == FREE:
        raise ValidationError({"plan": "Free needs no checkout: cancel the paid plan in the billing portal instead."})
    if not plan.price_id:
        raise ValidationError({"plan": f"{plan.name} cannot be bought yet: it has no Stripe price configured."})
    subscription = subscription_ensure(organization)
    if subscription.is_comped:
        raise BillingConflict(
            f"{organization.name} has {subscription.comped_plan.name} granted by Tessera staff; contact support "
            "to change it.",
            code="plan_granted",
        )
    if subscription.stripe_subscription_id and subscription.status in _LIVE:
        raise BillingConflict(
            "This organisation already has a paid subscription: change plans or cancel in the billing portal "
            "(POST /api/v1/billing/portal/).",
            code="subscription_exists",
        )
    customer_id = _customer_ensure(subscription=subscription, actor=actor)
    url = billing_url(organization)
    # The schema name identifies the organisation to Stripe and back: unique, and never
    # the same in another installation that shares the Stripe account (staging).
    metadata = {"organization": organization.schema_name, "plan": plan.code}
    session = stripe_call(
        "start the checkout",
        lambda: stripe_client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": organization.schema_name,
                "line_items": [{"price": plan.price_id, "quantity": 1}],
                "success_url": f"{url}?checkout=success",
                "cancel_url": f"{url}?checkout=cancelled",
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            }
        ),
    )
    with transaction.atomic():
        audit_record(
            action="plan.checkout_started",
            actor=actor,
            target=audit_target(organization, organization.slug),
            after={"plan": plan.code},
            organization=organization,
        )
    logger.info("billing: checkout %s for %s (%s) by %s", session.id, organization.pk, plan.code, actor.pk)
    return session.url


def portal_session_create(*, organization: Organization) -> str:
    """A Stripe customer portal session (payment methods, invoices, plan changes,
    cancellation). Returns its URL; it comes back to the billing page."""
    _require_enabled()
    subscription = subscription_ensure(organization)
    if not subscription.stripe_customer_id:
        raise BillingConflict(
            "There is no billing account for this organisation yet: choose a plan first "
            "(POST /api/v1/billing/checkout/).",
            code="no_billing_account",
        )
    session = stripe_call(
        "open the billing portal",
        lambda: stripe_client().v1.billing_portal.sessions.create(
            params={"customer": subscription.stripe_customer_id, "return_url": billing_url(organization)}
        ),
    )
    return session.url
