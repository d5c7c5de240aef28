from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from shared_apps.tenants.permissions import membership_for_request


def landing(request):
    return render(request, "core/landing.html")


def organization_home(request):
    """The organisation's start page: members only (a 403 page for other users)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = membership_for_request(request)
    if membership is None:
        return render(request, "core/not_a_member.html", {"organization": request.tenant}, status=403)
    return render(request, "core/organization_home.html", {"organization": request.tenant, "membership": membership})
