"""Billing's refusals; the API answers each with its status (shared_apps.core.api)."""

from shared_apps.core.exceptions import ServiceRefusal


class PlanLimitExceeded(ServiceRefusal):
    """Adding `adding` would take the organisation past its plan's allowance of `limit`."""

    status_code = 402
    code = "plan_limit_exceeded"

    def __init__(
        self, message: str, *, limit: str, usage: int, allowance: int, adding: int, plan: str, upgrade_url: str
    ):
        super().__init__(
            message, limit=limit, usage=usage, allowance=allowance, adding=adding, plan=plan, upgrade_url=upgrade_url
        )
        self.limit = limit


class OrganizationReadOnly(ServiceRefusal):
    """Payment is past due beyond the grace period: nothing new may be written."""

    status_code = 402
    code = "billing_read_only"


class BillingDisabled(ServiceRefusal):
    """STRIPE_SECRET_KEY is not set on this server."""

    status_code = 503
    code = "billing_disabled"


class BillingConflict(ServiceRefusal):
    """The request does not fit the subscription's state (already subscribed, no Stripe
    customer yet, a plan granted by staff)."""

    status_code = 409
    code = "billing_conflict"


class StripeUnavailable(ServiceRefusal):
    """Stripe could not be reached or refused the call; nothing was changed here."""

    status_code = 502
    code = "stripe_unavailable"
