"""Stripe webhooks: verify, store once, process once, in Stripe's order.

- The signature is verified with `stripe.Webhook.construct_event` and the signing secret;
  nothing is stored for a bad one.
- Each event is stored by its id first (a replay finds it and changes nothing), then
  processed in a transaction holding the event row and the organisation's subscription
  row, so two deliveries of one event, or two events of one organisation, never
  interleave.
- Stripe does not deliver in order. A subscription change is applied only if it is newer
  than the state stored: events are ordered by their `created` second, then by kind
  (subscription created < invoice < updated < deleted), and a subscription Stripe has
  ended is never revived by a late event about it.
"""

import json
import logging
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from shared_apps.audit.services import STRIPE, audit_record, audit_target
from shared_apps.billing.limits import plan_free, read_only_from, subscription_ensure
from shared_apps.billing.models import Plan, Subscription, WebhookEvent
from shared_apps.tenants.models import Organization

logger = logging.getLogger(__name__)

# Rank of each handled kind among events of the same second (see the module docstring).
RANKS = {
    "checkout.session.completed": 0,
    "customer.subscription.created": 1,
    "invoice.paid": 2,
    "invoice.payment_failed": 2,
    "customer.subscription.updated": 3,
    "customer.subscription.deleted": 4,
}
HANDLED = frozenset(RANKS)

# Stripe's subscription statuses -> ours. `incomplete` (first payment not made yet) grants
# nothing and is handled apart; `unpaid` and `paused` stop service after the grace period
# like `past_due`.
_STATUS = {
    "trialing": Subscription.Status.TRIALING,
    "active": Subscription.Status.ACTIVE,
    "past_due": Subscription.Status.PAST_DUE,
    "unpaid": Subscription.Status.PAST_DUE,
    "paused": Subscription.Status.PAST_DUE,
    "canceled": Subscription.Status.CANCELED,
    "incomplete_expired": Subscription.Status.CANCELED,
}


_YEAR_9999 = 253_402_300_800  # datetime cannot go further


class WebhookRejected(Exception):
    """Not a genuine Stripe event (signature, format): answered 400, nothing stored."""


def webhook_event_verify(*, payload: bytes, signature: str | None) -> dict:
    """The event in `payload` after checking its `Stripe-Signature` header against
    STRIPE_WEBHOOK_SECRET (and its timestamp, 5 minutes' tolerance)."""
    try:
        stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"Invalid signature: {exc.user_message or exc}") from exc
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
        # Signed, but not a JSON object (the library then fails building the event).
        raise WebhookRejected("The body is not a JSON Stripe event.") from exc
    event = json.loads(payload)
    valid = (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and event["id"]
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and 0 <= event["created"] < _YEAR_9999
        and isinstance((event.get("data") or {}).get("object"), dict)
    )
    if not valid:
        raise WebhookRejected("The body is not a Stripe event (id, type, created, data.object).")
    return event


def webhook_event_receive(*, event: dict) -> tuple[WebhookEvent, bool]:
    """Store `event` (once per id) and process it (once). Returns the stored row and
    whether this delivery was a replay of one already processed."""
    row, _created = WebhookEvent.objects.get_or_create(
        stripe_event_id=event["id"][:255],
        defaults={
            "type": event["type"][:100],
            "livemode": bool(event.get("livemode")),
            "stripe_created": _timestamp(event["created"]),
            "payload": event,
        },
    )
    return webhook_event_process(event=row)


def webhook_event_process(*, event: WebhookEvent) -> tuple[WebhookEvent, bool]:
    """Process a stored event unless it was processed already (then it is a replay). A
    failure is recorded on the row (`error`, `attempts`) and leaves it unprocessed, for
    Stripe's retry or the admin's "process again"."""
    with transaction.atomic():
        row = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if row.processed_at is not None:
            return row, True
        row.attempts += 1
        try:
            with transaction.atomic():
                outcome, organization = _dispatch(row)
        except Exception as exc:  # recorded for staff; Stripe retries on our error answer
            logger.exception("stripe webhook %s (%s) failed", row.stripe_event_id, row.type)
            row.error = f"{exc.__class__.__name__}: {exc}"[:2000]
            row.save(update_fields=["attempts", "error"])
            return row, False
        row.processed_at = timezone.now()
        row.outcome = outcome[:255]
        row.organization = organization
        row.error = ""
        row.save(update_fields=["attempts", "processed_at", "outcome", "organization", "error"])
    logger.info("stripe webhook %s (%s): %s", row.stripe_event_id, row.type, row.outcome)
    return row, False


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value is not None else None


def _id(value) -> str:
    """A Stripe reference, expanded (an object) or not (its id)."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _dispatch(row: WebhookEvent) -> tuple[str, Organization | None]:
    if row.type not in HANDLED:
        return "not handled (stored only)", None
    obj = row.payload["data"]["object"]
    key = (row.stripe_created, RANKS[row.type])
    if row.type == "checkout.session.completed":
        return _checkout_completed(obj, key)
    if row.type.startswith("customer.subscription."):
        return _subscription_changed(obj, key, deleted=row.type.endswith(".deleted"))
    return _invoice_event(obj, key, paid=row.type == "invoice.paid")


def _locked_subscription(
    *, reference: str = "", subscription_id: str = "", customer_id: str = ""
) -> Subscription | None:
    """The subscription row an event is about, locked: by the organisation Tessera named
    in the checkout or metadata (its schema name: unique, and never reused by another
    installation sharing the Stripe account), else by the Stripe subscription, else by
    the Stripe customer."""
    rows = Subscription.objects.select_for_update(of=("self",)).select_related("organization")
    reference = str(reference)
    if reference:
        row = rows.filter(organization__schema_name=reference).first()
        if row is None:
            organization = Organization.objects.filter(schema_name=reference).exclude(status=Organization.Status.SPARE)
            if organization.exists():
                subscription_ensure(organization.get())
                row = rows.filter(organization__schema_name=reference).first()
        if row is not None:
            return _state_remember(row)
    if subscription_id:
        row = rows.filter(stripe_subscription_id=subscription_id).first()
        if row is not None:
            return _state_remember(row)
    if customer_id:
        return _state_remember(rows.filter(stripe_customer_id=customer_id).first())
    return None


def _state_remember(subscription: Subscription | None) -> Subscription | None:
    """Keep the plan and status as they were when the event's row was locked, for
    _plan_audit."""
    if subscription is not None:
        subscription._audit_before = (subscription.plan_id, subscription.status)
    return subscription


def _plan_audit(subscription: Subscription) -> None:
    """A plan.changed entry in the organisation's log (actor Stripe) when the event
    changed its plan or subscription status; same transaction as the change."""
    plan_id, status = getattr(subscription, "_audit_before", (subscription.plan_id, subscription.status))
    if (plan_id, status) == (subscription.plan_id, subscription.status):
        return
    codes = dict(Plan.objects.filter(pk__in=[plan_id, subscription.plan_id]).values_list("pk", "code"))
    before, after = {}, {}
    if plan_id != subscription.plan_id:
        before["plan"], after["plan"] = codes.get(plan_id), codes.get(subscription.plan_id)
    if status != subscription.status:
        before["status"], after["status"] = status, subscription.status
    organization = subscription.organization
    audit_record(
        action="plan.changed",
        actor=STRIPE,
        target=audit_target(organization, organization.slug),
        before=before,
        after=after,
        organization=organization,
    )
    subscription._audit_before = (subscription.plan_id, subscription.status)


def _newer(subscription: Subscription, key: tuple) -> bool:
    if subscription.stripe_state_at is None:
        return True
    return key >= (subscription.stripe_state_at, subscription.stripe_state_rank)


def _second_subscription(subscription: Subscription, subscription_id: str) -> str:
    """A second live subscription for an organisation that has one (two checkouts paid at
    once): the current one stays; staff must cancel (and refund) one in Stripe."""
    logger.warning(
        "organisation %s has a second live Stripe subscription %s besides %s: cancel one",
        subscription.organization.schema_name,
        subscription_id,
        subscription.stripe_subscription_id,
    )
    return f"ignored: second live subscription {subscription_id} (current {subscription.stripe_subscription_id})"


def _has_live_subscription(subscription: Subscription) -> bool:
    return bool(subscription.stripe_subscription_id) and subscription.status != Subscription.Status.CANCELED


def _plan_for_price(price_id: str) -> Plan | None:
    if not price_id:
        return None
    for plan in Plan.objects.all():
        if plan.price_id == price_id:
            return plan
    return None


def _mark(subscription: Subscription, key: tuple) -> None:
    subscription.stripe_state_at, subscription.stripe_state_rank = key


def _checkout_completed(session: dict, key: tuple) -> tuple[str, Organization | None]:
    if session.get("mode") != "subscription":
        return "ignored: not a subscription checkout", None
    customer_id, subscription_id = _id(session.get("customer")), _id(session.get("subscription"))
    metadata = session.get("metadata") or {}
    subscription = _locked_subscription(
        reference=session.get("client_reference_id") or metadata.get("organization") or "",
        subscription_id=subscription_id,
        customer_id=customer_id,
    )
    if subscription is None:
        return "ignored: no organisation matches", None
    fields = {"updated_at"}
    if customer_id and not subscription.stripe_customer_id:
        subscription.stripe_customer_id = customer_id
        fields.add("stripe_customer_id")
    if subscription_id and subscription_id == subscription.stripe_subscription_id:
        # The subscription's own events got here first: they carry its real state.
        subscription.save(update_fields=fields)
        return "linked (subscription state already applied)", subscription.organization
    if _has_live_subscription(subscription):
        subscription.save(update_fields=fields)
        return _second_subscription(subscription, subscription_id), subscription.organization
    if not _newer(subscription, key):
        subscription.save(update_fields=fields)
        return "ignored: older than the organisation's current subscription", subscription.organization
    plan = Plan.objects.filter(code=metadata.get("plan") or "").first()
    if plan is None:
        subscription.save(update_fields=fields)
        return "linked; plan unknown until the subscription's events arrive", subscription.organization
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        # A delayed payment method (a bank debit): the subscription's own events grant
        # the plan once Stripe has the money.
        subscription.save(update_fields=fields)
        return "linked; payment still pending", subscription.organization
    subscription.stripe_subscription_id = subscription_id
    subscription.plan = plan
    subscription.status = Subscription.Status.ACTIVE
    subscription.stripe_status = ""
    subscription.trial_end = None
    subscription.past_due_since = None
    subscription.cancel_at_period_end = False
    _mark(subscription, key)
    subscription.save()
    _plan_audit(subscription)
    return f"checkout completed: {plan.code}, {subscription.status}", subscription.organization


def _period_end(stripe_subscription: dict) -> datetime | None:
    """`current_period_end` sits on the subscription in older API versions and on its
    items in newer ones (2025-03-31 on): take whichever there is, the latest."""
    if stripe_subscription.get("current_period_end"):
        return _timestamp(stripe_subscription["current_period_end"])
    ends = [item.get("current_period_end") for item in _items(stripe_subscription) if item.get("current_period_end")]
    return _timestamp(max(ends)) if ends else None


def _items(stripe_subscription: dict) -> list[dict]:
    return ((stripe_subscription.get("items") or {}).get("data")) or []


def _subscription_changed(stripe_subscription: dict, key: tuple, *, deleted: bool) -> tuple[str, Organization | None]:
    subscription_id = stripe_subscription.get("id") or ""
    metadata = stripe_subscription.get("metadata") or {}
    subscription = _locked_subscription(
        reference=metadata.get("organization") or "",
        subscription_id=subscription_id,
        customer_id=_id(stripe_subscription.get("customer")),
    )
    if subscription is None:
        return "ignored: no organisation matches", None
    organization = subscription.organization
    stripe_status = "canceled" if deleted else (stripe_subscription.get("status") or "")
    ended = _STATUS.get(stripe_status) == Subscription.Status.CANCELED
    if subscription_id == subscription.stripe_subscription_id:
        if subscription.status == Subscription.Status.CANCELED:
            return "ignored: this subscription has ended already", organization
        if not _newer(subscription, key):
            return "ignored: older than the state already applied", organization
    elif _has_live_subscription(subscription):
        if ended:
            return "ignored: ended subscription is not the organisation's current one", organization
        return _second_subscription(subscription, subscription_id), organization
    elif not _newer(subscription, key):
        # The organisation's last subscription ended: an older event of an earlier one
        # (a Stripe retry, "process again") must not bring a plan back.
        return "ignored: older than the organisation's current subscription", organization

    subscription.stripe_subscription_id = subscription_id
    subscription.stripe_status = stripe_status
    if not subscription.stripe_customer_id:
        subscription.stripe_customer_id = _id(stripe_subscription.get("customer"))
    _mark(subscription, key)
    if stripe_status == "incomplete":
        # The first payment has not gone through: nothing is granted yet.
        subscription.save()
        return "recorded: incomplete (first payment pending)", organization

    status = _STATUS.get(stripe_status)
    if status is None:
        subscription.save()
        return f"recorded: unknown Stripe status {stripe_status!r}", organization
    outcome = ""
    if status == Subscription.Status.CANCELED:
        plan = plan_free()
    else:
        price_id = _id((_items(stripe_subscription)[:1] or [{}])[0].get("price"))
        plan = _plan_for_price(price_id) or Plan.objects.filter(code=metadata.get("plan") or "").first()
        if plan is None:
            plan = subscription.plan
            outcome = f"; unknown price {price_id!r}, plan kept"
    was_past_due = subscription.past_due_since is not None
    if status == Subscription.Status.PAST_DUE:
        if subscription.status != Subscription.Status.PAST_DUE or subscription.past_due_since is None:
            subscription.past_due_since = key[0]
    else:
        subscription.past_due_since = None
    subscription.plan = plan
    subscription.status = status
    subscription.current_period_end = _period_end(stripe_subscription)
    subscription.trial_end = _timestamp(stripe_subscription.get("trial_end"))
    subscription.cancel_at_period_end = bool(
        stripe_subscription.get("cancel_at_period_end") or stripe_subscription.get("cancel_at")
    )
    subscription.save()
    _plan_audit(subscription)
    if not was_past_due and status == Subscription.Status.PAST_DUE:
        _past_due_notify(subscription)
    return f"subscription {stripe_status}: {plan.code}{outcome}", organization


def _past_due_notify(subscription: Subscription) -> None:
    """Owners and admins hear that a payment failed and when writing stops, once per
    past-due period, through the organisation's notifications (an outbox event written
    in this transaction, in its schema). Shared apps reach tenant code through a setting."""
    until = read_only_from(subscription)
    if not settings.TESSERA_BILLING_PAST_DUE_NOTIFY or until is None:  # none set, or a staff grant
        return
    notify = import_string(settings.TESSERA_BILLING_PAST_DUE_NOTIFY)
    try:
        # A savepoint: a failure to notify never undoes the billing state.
        with transaction.atomic(), schema_context(subscription.organization.schema_name):
            notify(read_only_from=until)
    except Exception:
        logger.exception("could not notify %s of its failed payment", subscription.organization.schema_name)


# Invoices whose failure makes the subscription past due: its first and renewal charges.
_RENEWAL_REASONS = frozenset({None, "", "subscription_create", "subscription_cycle", "subscription_threshold"})


def _invoice_subscription_id(invoice: dict) -> str:
    """The invoice's subscription: `invoice.parent.subscription_details.subscription`
    since API 2025-03-31, `invoice.subscription` before."""
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def _invoice_event(invoice: dict, key: tuple, *, paid: bool) -> tuple[str, Organization | None]:
    subscription_id = _invoice_subscription_id(invoice)
    if not subscription_id:
        return "ignored: not a subscription invoice", None
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    subscription = _locked_subscription(
        reference=(details.get("metadata") or {}).get("organization") or "",
        subscription_id=subscription_id,
        customer_id=_id(invoice.get("customer")),
    )
    if subscription is None:
        return "ignored: no organisation matches", None
    organization = subscription.organization
    if subscription_id != subscription.stripe_subscription_id:
        return "ignored: invoice of another subscription", organization
    if subscription.status == Subscription.Status.CANCELED:
        return "ignored: this subscription has ended already", organization
    if not _newer(subscription, key):
        return "ignored: older than the state already applied", organization
    _mark(subscription, key)
    if paid:
        if subscription.status == Subscription.Status.PAST_DUE:
            subscription.status = Subscription.Status.ACTIVE
            subscription.stripe_status = "active"
        subscription.past_due_since = None
        ends = [
            (line.get("period") or {}).get("end")
            for line in ((invoice.get("lines") or {}).get("data") or [])
            if (line.get("period") or {}).get("end")
        ]
        if ends:
            period_end = _timestamp(max(ends))
            if subscription.current_period_end is None or period_end > subscription.current_period_end:
                subscription.current_period_end = period_end
        subscription.save()
        _plan_audit(subscription)
        return f"invoice paid: {subscription.status}", organization
    if invoice.get("billing_reason") not in _RENEWAL_REASONS:
        # A failed proration or one-off invoice leaves the subscription as Stripe keeps
        # it (active); its own events say if that changes.
        subscription.save()
        return f"invoice payment failed ({invoice.get('billing_reason')}): status kept", organization
    if subscription.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
        subscription.status = Subscription.Status.PAST_DUE
        subscription.stripe_status = "past_due"
    starts = subscription.past_due_since is None
    if starts:
        subscription.past_due_since = key[0]
    subscription.save()
    _plan_audit(subscription)
    if starts and subscription.status == Subscription.Status.PAST_DUE:
        _past_due_notify(subscription)
    return f"invoice payment failed: {subscription.status}", organization
