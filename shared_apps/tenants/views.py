from allauth.account.views import SignupView as AllauthSignupView
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.selectors import organizations_for_user
from shared_apps.tenants.services import domain_for_slug, organization_url
from shared_apps.tenants.signup import signup_submit


class SignupView(AllauthSignupView):
    """allauth's sign-up page, creating the organisation in the same transaction."""

    def form_valid(self, form):
        response = signup_submit(request=self.request, form=form)
        if response is None:
            return self.form_invalid(form)
        return response


@login_required
def organization_picker(request):
    """The root domain's "your organisations" page: pick one to open."""
    organizations = [
        {
            "organization": organization,
            "url": organization_url(organization),
            "host": domain_for_slug(organization.slug),
            "role": role,
            "role_label": OrgRole(role).label,
        }
        for organization, role in organizations_for_user(request.user)
    ]
    return render(request, "tenants/organization_picker.html", {"organizations": organizations})
