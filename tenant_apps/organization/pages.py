"""Organisation settings (/settings/organization/, owners and admins): name, default
language, time zone, with the ways to webhooks and billing. The same door
(org_manager_require) and service (organization_settings_update) as
PATCH /api/v1/organization/."""

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shared_apps.tenants.services import organization_settings_update
from tenant_apps.projects.permissions import member_for_request, org_manager_require
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required

SETTINGS_MANAGERS = gettext_lazy("Only organisation owners and admins change its settings.")


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)
    # A text field (the service validates the IANA name) offered with a list of zones.
    time_zone = forms.CharField(label=gettext_lazy("Time zone"), max_length=64)


@member_required
def organization_settings(request):
    """GET: the form. POST: save name, language and time zone."""
    member = member_for_request(request)
    org_manager_require(member=member, message=SETTINGS_MANAGERS)
    organization = request.tenant
    initial = {"name": organization.name, "language": organization.language, "time_zone": organization.time_zone}
    form = OrganizationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            organization_settings_update(organization=organization, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Organisation settings saved."))
            return redirect("organization-settings")
        organization.refresh_from_db()  # nothing was saved; show what is stored
    return render(
        request,
        "organization/settings.html",
        {"nav": "settings", "form": form, "time_zones": sorted(zoneinfo.available_timezones())},
        status=400 if request.method == "POST" else 200,
    )
