"""Pages: the Stripe webhook endpoint (root domain) and the organisation's billing page
(where a refused addition's `upgrade_url` leads)."""

import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.billing.selectors import billing_overview
from shared_apps.billing.services import checkout_session_create, portal_session_create
from shared_apps.billing.webhooks import WebhookRejected, webhook_event_receive, webhook_event_verify
from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.tenants.models import MANAGER_ROLES, OrgRole
from shared_apps.tenants.permissions import membership_for_request

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the body instead
@require_POST
def stripe_webhook(request):
    """Stripe's events. 400 for a bad or missing signature (nothing stored); 200 once the
    event is stored and processed, or recognised as a replay; 500 when processing failed
    (the event is kept with its error, and Stripe retries)."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        return JsonResponse(
            {
                "detail": "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET is not set).",
                "code": "webhooks_disabled",
            },
            status=503,
        )
    try:
        event = webhook_event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except WebhookRejected as exc:
        logger.warning("stripe webhook rejected: %s", exc)
        return JsonResponse({"detail": str(exc), "code": "invalid_event"}, status=400)
    row, replay = webhook_event_receive(event=event)
    if row.processed_at is None:
        return JsonResponse(
            {"detail": "The event is stored but processing failed; Stripe will retry.", "code": "processing_failed"},
            status=500,
        )
    return JsonResponse({"received": True, "replay": replay, "outcome": row.outcome})


_CHECKOUT_MESSAGES = {
    "success": gettext_lazy(
        "Thank you! The new plan applies as soon as Stripe confirms the payment, usually within seconds."
    ),
    "cancelled": gettext_lazy("Checkout was cancelled; nothing was charged."),
}

# The limits as the page names them (LIMITS' labels stay English: the API's 402 texts).
_LIMIT_LABELS = {
    "members": gettext_lazy("Members"),
    "projects": gettext_lazy("Active projects"),
    "storage_bytes": gettext_lazy("Attachment storage"),
    "reports_per_month": gettext_lazy("Reports this month"),
}


def _limit_rows(limits: dict) -> list[dict]:
    """One row per limit: its label, usage, allowance, and the bar's fill (None when
    unlimited or not measured)."""
    rows = []
    for name, values in limits.items():
        allowance, usage = values["allowance"], values["usage"]
        rows.append(
            {
                "name": name,
                "label": _LIMIT_LABELS.get(name, name),
                "values": values,
                "bar": {"value": min(usage, allowance), "max": allowance} if allowance and usage is not None else None,
                "full": allowance is not None and usage is not None and usage >= allowance,
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
def billing_page(request):
    """The organisation's plan, usage bars against each limit (members); owners can
    upgrade through Stripe Checkout or open the customer portal from here. In the
    shell, with the organisation settings' tabs for owners and admins."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = membership_for_request(request)
    if membership is None:
        return render(request, "core/not_a_member.html", {"organization": request.tenant}, status=403)
    is_owner = membership.role == OrgRole.OWNER
    error, status = "", 200
    if request.method == "POST":
        if not is_owner:
            error, status = _("Only owners manage billing."), 403
        else:
            try:
                if request.POST.get("action") == "portal":
                    url = portal_session_create(organization=request.tenant)
                else:
                    url = checkout_session_create(
                        organization=request.tenant, plan_code=request.POST.get("plan", ""), actor=request.user
                    )
            except ValidationError as exc:
                error, status = " ".join(exc.messages), 400
            except ServiceRefusal as exc:
                error, status = exc.message, exc.status_code
            else:
                return HttpResponseRedirect(url, status=303)
    overview = billing_overview(organization=request.tenant, full=membership.role in MANAGER_ROLES)
    context = {
        "organization": request.tenant,
        "overview": overview,
        "limits": _limit_rows(overview["limits"]),
        "nav": "billing",
        "is_owner": is_owner,
        "error": error,
        "notice": _CHECKOUT_MESSAGES.get(request.GET.get("checkout", "")),
    }
    return render(request, "billing/page.html", context, status=status)
