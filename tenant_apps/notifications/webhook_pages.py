"""Webhook pages (/settings/webhooks/, owners and admins): the organisation's webhooks,
create one with the event kinds it receives (its signing secret shown once, right
after), the delivery log (status, attempts, response, error), disable/enable, delete;
an edit page (URL and event kinds) and a new secret (shown once, like the first). The
same door (access_webhook / org_manager_require) and services (webhook_create,
webhook_update, webhook_secret_rotate, webhook_delete) as the API."""

from django import forms
from django.contrib import messages
from django.db.models import Count, Max
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tenant_apps.notifications.models import EventKind, Webhook
from tenant_apps.notifications.permissions import WEBHOOK_MANAGERS, access_webhook
from tenant_apps.notifications.services import (
    webhook_create,
    webhook_delete,
    webhook_secret_rotate,
    webhook_update,
)
from tenant_apps.projects.permissions import member_for_request, org_manager_require
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required

# The log shows the newest deliveries; the API pages through all of them.
LOG_LIMIT = 50
# The secret travels from the create POST to the page after it in the session, popped
# on first display: shown once, never in a URL.
_ONCE_SESSION_KEY = "webhook_secret_once"


class WebhookCreateForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("Payload URL"), max_length=500, assume_scheme="https")
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=EventKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


@member_required
def webhooks_page(request):
    """GET: the webhooks and the create form. POST: create one."""
    member = member_for_request(request)
    org_manager_require(member=member, message=WEBHOOK_MANAGERS)
    form = WebhookCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            webhook = webhook_create(url=form.cleaned_data["url"], kinds=form.cleaned_data["kinds"], actor=member)
            request.session[_ONCE_SESSION_KEY] = {"id": webhook.pk, "secret": webhook.secret}
            messages.success(request, _("Webhook created."))
            return redirect("webhook", webhook_id=webhook.pk)
    webhooks = list(
        Webhook.objects.annotate(
            delivery_count=Count("deliveries"), last_delivery=Max("deliveries__created_at")
        ).order_by("pk")
    )
    labels = dict(EventKind.choices)
    for webhook in webhooks:
        webhook.kind_names = [labels.get(kind, kind) for kind in webhook.kinds]
    return render(
        request,
        "notifications/webhooks.html",
        {"nav": "settings", "form": form, "webhooks": webhooks},
        status=400 if request.method == "POST" else 200,
    )


@member_required
def webhook_page(request, webhook_id: int):
    """One webhook: its kinds, state, the secret (once, after creation) and the log."""
    webhook = access_webhook(member=member_for_request(request), webhook_id=webhook_id)
    once = request.session.get(_ONCE_SESSION_KEY)
    secret = None
    if once and once.get("id") == webhook.pk:
        secret = once["secret"]
        del request.session[_ONCE_SESSION_KEY]
    deliveries = list(webhook.deliveries.select_related("event").order_by("-id")[:LOG_LIMIT])
    labels = dict(EventKind.choices)
    context = {
        "nav": "settings",
        "webhook": webhook,
        "kind_names": [labels.get(kind, kind) for kind in webhook.kinds],
        "secret": secret,
        "deliveries": deliveries,
    }
    if request.htmx:
        return render(request, "notifications/webhook.html#delivery-log", context)
    return render(request, "notifications/webhook.html", context)


@member_required
@require_POST
def webhook_active(request, webhook_id: int):
    """POST is_active=1|0: enable or disable the webhook."""
    member = member_for_request(request)
    webhook = access_webhook(member=member, webhook_id=webhook_id)
    active = request.POST.get("is_active") == "1"
    webhook_update(webhook=webhook, data={"is_active": active}, actor=member)
    messages.success(request, _("Webhook enabled.") if active else _("Webhook disabled."))
    return redirect("webhook", webhook_id=webhook.pk)


@member_required
def webhook_edit_page(request, webhook_id: int):
    """GET: the webhook's URL and event kinds in a form. POST: change them through
    webhook_update (the same address rules as creating one; errors inline, nothing
    changed)."""
    member = member_for_request(request)
    webhook = access_webhook(member=member, webhook_id=webhook_id)
    form = WebhookCreateForm(request.POST or None, initial={"url": webhook.url, "kinds": webhook.kinds})
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            data = {"url": form.cleaned_data["url"], "kinds": form.cleaned_data["kinds"]}
            webhook_update(webhook=webhook, data=data, actor=member)
            messages.success(request, _("Webhook saved."))
            return redirect("webhook", webhook_id=webhook.pk)
        # The service refused: show the stored address in the heading, not the typed one.
        webhook.refresh_from_db()
    return render(
        request,
        "notifications/webhook_edit.html",
        {"nav": "settings", "webhook": webhook, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@member_required
@require_POST
def webhook_secret_page(request, webhook_id: int):
    """POST: a new signing secret, shown once on the webhook's page (as after creation)."""
    member = member_for_request(request)
    webhook = access_webhook(member=member, webhook_id=webhook_id)
    webhook_secret_rotate(webhook=webhook, actor=member)
    request.session[_ONCE_SESSION_KEY] = {"id": webhook.pk, "secret": webhook.secret}
    messages.success(request, _("A new signing secret is in use: the old one no longer verifies deliveries."))
    return redirect("webhook", webhook_id=webhook.pk)


@member_required
@require_POST
def webhook_delete_page(request, webhook_id: int):
    """POST: delete the webhook and its delivery log."""
    member = member_for_request(request)
    webhook = access_webhook(member=member, webhook_id=webhook_id)
    webhook_delete(webhook=webhook, actor=member)
    messages.success(request, _("Webhook deleted."))
    return redirect("webhooks")
