"""Plans, each organisation's subscription, and the Stripe webhook events received
(public schema). How they are written: services.py and webhooks.py; docs/billing.md."""

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shared_apps.tenants.models import Organization

FREE = "free"
TEAM = "team"
BUSINESS = "business"


@dataclass(frozen=True)
class Limit:
    name: str
    field: str
    label: str
    unit: str  # "count" or "bytes"


# The plan limits, in the order pages show them. `name` is what limit_check() takes and
# what the API and 402 bodies say; `field` is the Plan column holding the allowance.
LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("members", "max_members", "members", "count"),
        Limit("projects", "max_projects", "active projects", "count"),
        Limit("storage_bytes", "max_storage_bytes", "attachment storage", "bytes"),
        Limit("reports_per_month", "max_reports_per_month", "reports this month", "count"),
    )
}


class Plan(models.Model):
    """What an organisation may use. An empty allowance is unlimited. Platform staff edit
    plans in the admin; Free, Team and Business are created by a migration."""

    code = models.SlugField(max_length=32, unique=True, help_text=_("Fixed identifier (free, team, business)."))
    name = models.CharField(max_length=100)
    stripe_price_id = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Stripe price (price_...). Empty: STRIPE_PRICE_<CODE> from the environment."),
    )
    max_members = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty: unlimited."))
    max_projects = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Active (not archived) projects. Empty: unlimited.")
    )
    max_storage_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Attachment storage in bytes. Empty: unlimited.")
    )
    max_reports_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Reports per calendar month (UTC). Empty: unlimited.")
    )
    position = models.PositiveSmallIntegerField(default=0, help_text=_("Order on the billing page."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_price_id"],
                condition=~models.Q(stripe_price_id=""),
                name="billing_plan_price_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def allowance(self, limit: str) -> int | None:
        """How much of `limit` the plan allows; None is unlimited."""
        return getattr(self, LIMITS[limit].field)

    @property
    def price_id(self) -> str:
        """The Stripe price to sell this plan with: the plan's own, else the environment's."""
        return self.stripe_price_id or settings.STRIPE_PRICE_IDS.get(self.code, "")


class Subscription(models.Model):
    """One per organisation: its plan and where its Stripe subscription stands.

    `plan`, `status` and the period follow Stripe (webhooks); `stripe_state_at` and
    `stripe_state_rank` order the events applied, so an older one arriving late never
    overwrites a newer state. A plan granted by staff (`comped_plan`) takes precedence
    over Stripe's while it is set."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trialing")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled")

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    past_due_since = models.DateTimeField(null=True, blank=True)

    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    # Stripe's own status word (incomplete, unpaid, ...), for staff.
    stripe_status = models.CharField(max_length=32, blank=True)
    # `created` of the last Stripe event applied, and the event kind's rank for events of
    # the same second (subscription created < invoice < updated < deleted).
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    stripe_state_rank = models.PositiveSmallIntegerField(default=0)

    comped_plan = models.ForeignKey(
        Plan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A plan granted by staff, free of charge; it overrides the paid plan while set."),
    )
    comped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comped_at = models.DateTimeField(null=True, blank=True)
    comped_note = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~models.Q(stripe_customer_id=""),
                name="billing_subscription_customer_unique",
            ),
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=~models.Q(stripe_subscription_id=""),
                name="billing_subscription_stripe_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} on {self.plan} ({self.status})"

    @property
    def is_comped(self) -> bool:
        return self.comped_plan_id is not None


class WebhookEvent(models.Model):
    """A Stripe event as received (signature verified), stored before it is processed:
    a replay of the same id is recognised and answered without processing it again."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField(help_text=_("When Stripe created the event."))
    payload = models.JSONField()
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="billing_events"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["-received_at"], name="billing_event_received")]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"
