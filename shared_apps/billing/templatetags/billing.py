from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from shared_apps.billing.limits import billing_enabled
from shared_apps.billing.models import LIMITS, Subscription

register = template.Library()


@register.filter
def limit_label(name: str) -> str:
    return LIMITS[name].label.capitalize()


@register.filter
def status_label(status: str) -> str:
    return Subscription.Status(status).label.lower()


@register.filter
def amount(values: dict, key: str) -> str:
    """A limit's usage or allowance as people read it: "unlimited", "—" (not measured),
    a size for bytes."""
    value = values[key]
    if value is None:
        return "unlimited" if key == "allowance" else "—"
    return filesizeformat(value) if values["unit"] == "bytes" else str(value)


@register.simple_tag
def billing_admin_notice() -> str:
    """The admin's banner when billing is off or half-configured."""
    if not billing_enabled():
        message = "Billing is disabled (STRIPE_SECRET_KEY is not set): every organisation is unlimited."
    elif not settings.STRIPE_WEBHOOK_SECRET:
        message = "STRIPE_WEBHOOK_SECRET is not set: payments will not reach organisations' plans."
    else:
        return ""
    return format_html('<ul class="messagelist"><li class="warning">{}</li></ul>', message)
