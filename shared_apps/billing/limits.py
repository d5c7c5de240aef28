"""Plan limits: the one API the rest of the code calls before it adds something.

    limit_check(organization, "projects", adding=1)

inside the transaction that writes the addition. It locks the organisation's
subscription row, so concurrent additions are counted one after another (each count
sees the rows the previous one committed), and raises PlanLimitExceeded — answered 402
by the API — when the addition would pass the plan's allowance. With billing disabled
(no STRIPE_SECRET_KEY) every organisation is unlimited and nothing is locked.
"""

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.template.defaultfilters import date as date_format
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from shared_apps.billing.exceptions import OrganizationReadOnly, PlanLimitExceeded
from shared_apps.billing.models import FREE, LIMITS, Plan, Subscription
from shared_apps.tenants.addresses import organization_url
from shared_apps.tenants.models import Organization
from shared_apps.tenants.selectors import current_organization


def billing_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def billing_url(organization: Organization) -> str:
    """The organisation's billing page: where a refused addition points for an upgrade."""
    return organization_url(organization, "/billing/")


def plan_free() -> Plan:
    plan = Plan.objects.filter(code=FREE).first()
    if plan is None:
        raise ImproperlyConfigured("The plan with code 'free' is missing: billing falls back to it. Recreate it.")
    return plan


def subscription_ensure(organization: Organization) -> Subscription:
    """The organisation's subscription, created on Free if it has none yet (organisations
    from before billing): every organisation resolves to a plan."""
    subscription = Subscription.objects.select_related("plan", "comped_plan").filter(organization=organization).first()
    if subscription is None:
        subscription, _created = Subscription.objects.get_or_create(
            organization=organization, defaults={"plan": plan_free(), "status": Subscription.Status.ACTIVE}
        )
    return subscription


def subscription_locked(organization: Organization | None = None) -> Subscription:
    """The subscription row of `organization` (None: the organisation whose schema is
    active), locked until the current transaction ends."""
    rows = Subscription.objects.select_for_update(of=("self",)).select_related("organization", "plan", "comped_plan")
    if organization is None:
        if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
            raise RuntimeError("No organisation given and none active: pass it, or run in its schema.")
        rows = rows.filter(organization__schema_name=connection.schema_name)
    else:
        rows = rows.filter(organization_id=organization.pk)
    subscription = rows.first()
    if subscription is None:
        subscription_ensure(organization or current_organization())
        subscription = rows.get()
    return subscription


def trial_expired(subscription: Subscription, now: datetime | None = None) -> bool:
    """A trial Tessera granted (no Stripe subscription behind it) that has run out; the
    hourly `billing.trials_expire` job moves such organisations to Free."""
    return (
        subscription.status == Subscription.Status.TRIALING
        and not subscription.stripe_subscription_id
        and subscription.trial_end is not None
        and subscription.trial_end <= (now or timezone.now())
    )


def plan_effective(subscription: Subscription, now: datetime | None = None) -> Plan:
    """The plan whose limits apply: a plan granted by staff, else Free after an expired
    trial, else the subscription's plan."""
    if subscription.comped_plan_id is not None:
        return subscription.comped_plan
    if trial_expired(subscription, now):
        return plan_free()
    return subscription.plan


def status_effective(subscription: Subscription, now: datetime | None = None) -> str:
    if subscription.comped_plan_id is not None or trial_expired(subscription, now):
        return Subscription.Status.ACTIVE
    return subscription.status


def read_only_from(subscription: Subscription) -> datetime | None:
    """When a past-due organisation turns read-only (past due + the grace period); None
    when it is not past due, or its plan is granted by staff."""
    if (
        subscription.comped_plan_id is not None
        or subscription.status != Subscription.Status.PAST_DUE
        or subscription.past_due_since is None
    ):
        return None
    return subscription.past_due_since + timedelta(days=settings.STRIPE_PAST_DUE_GRACE_DAYS)


def is_read_only(subscription: Subscription, now: datetime | None = None) -> bool:
    if not billing_enabled():
        return False
    since = read_only_from(subscription)
    return since is not None and since <= (now or timezone.now())


def read_only_error(subscription: Subscription) -> OrganizationReadOnly:
    organization = subscription.organization
    url = billing_url(organization)
    return OrganizationReadOnly(
        f"Payment for {organization.name} has been past due since "
        f"{date_format(subscription.past_due_since, 'j F Y')}: the organisation is read-only until it is paid. "
        f"Everything is kept and can be read. An owner can pay at {url}.",
        billing_url=url,
        past_due_since=subscription.past_due_since.isoformat(),
    )


@contextlib.contextmanager
def _in_schema(organization: Organization) -> Iterator[None]:
    if connection.schema_name == organization.schema_name:
        yield
    else:
        with schema_context(organization.schema_name):
            yield


def usage_get(organization: Organization, limit: str) -> int | None:
    """How much of `limit` the organisation uses now, or None when nothing measures it
    (no entry in settings.TESSERA_BILLING_USAGE)."""
    path = settings.TESSERA_BILLING_USAGE.get(limit)
    if not path:
        return None
    with _in_schema(organization):
        return int(import_string(path)(organization))


def _bytes(size: int) -> str:
    return filesizeformat(size).replace("\xa0", " ")


def _refusal_message(*, plan: Plan, limit: str, usage: int, allowance: int, adding: int, url: str) -> str:
    label = LIMITS[limit].label
    if LIMITS[limit].unit == "bytes":
        return (
            f"Your {plan.name} plan allows {_bytes(allowance)} of {label}; {_bytes(usage)} "
            f"are used and this needs {_bytes(adding)} more. Upgrade at {url} or delete attachments."
        )
    remedy = " or archive a project" if limit == "projects" else ""
    return f"Your {plan.name} plan allows {allowance} {label}; you have {usage}. Upgrade at {url}{remedy} to add more."


def limit_check(organization: Organization | None, limit: str, *, adding: int = 1) -> None:
    """Refuse to add `adding` units of `limit` ("members", "projects", "storage_bytes",
    "reports_per_month") beyond the organisation's plan.

    Call it inside the transaction that writes the addition (it raises RuntimeError
    otherwise): the subscription row stays locked until that transaction ends.
    `organization` None means the organisation whose schema is active. Raises
    PlanLimitExceeded (402) over the allowance, OrganizationReadOnly (402) while payment
    is past due beyond the grace period. Data over an allowance (after a downgrade) is
    kept; only additions are refused."""
    if limit not in LIMITS:
        raise ValueError(f"Unknown plan limit {limit!r}; known: {', '.join(LIMITS)}")
    # Checked first, so a call site outside a transaction fails in tests (billing off)
    # as it would in production.
    if not connection.in_atomic_block:
        raise RuntimeError("limit_check() must run inside the transaction that writes the addition.")
    if not billing_enabled():
        return
    subscription = subscription_locked(organization)
    if is_read_only(subscription):
        raise read_only_error(subscription)
    plan = plan_effective(subscription)
    allowance = plan.allowance(limit)
    if allowance is None:
        return
    usage = usage_get(subscription.organization, limit)
    if usage is None:
        raise ImproperlyConfigured(f"No usage function for the limit {limit!r}: add it to TESSERA_BILLING_USAGE.")
    if usage + adding > allowance:
        url = billing_url(subscription.organization)
        raise PlanLimitExceeded(
            _refusal_message(plan=plan, limit=limit, usage=usage, allowance=allowance, adding=adding, url=url),
            limit=limit,
            usage=usage,
            allowance=allowance,
            adding=adding,
            plan=plan.code,
            upgrade_url=url,
        )


def limit_precheck(organization: Organization | None, limit: str, *, adding: int = 1) -> None:
    """limit_check in a transaction of its own: an early answer before expensive work
    (storing an upload). The authoritative check still runs in the writing transaction."""
    with transaction.atomic():
        limit_check(organization, limit, adding=adding)
