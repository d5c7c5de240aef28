from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.defaults import bad_request, page_not_found

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


def not_found(request, exception):
    """handler404 of both URLconfs: an unknown URL under /api/ answers JSON like every
    other API error (`{"detail": ...}`), pages keep the HTML 404."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": str(_("Not found."))}, status=404)
    return page_not_found(request, exception)


def bad_request_answer(request, exception):
    """handler400 of both URLconfs (Django's answer to a SuspiciousOperation, e.g. more
    form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS): JSON under /api/, HTML elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": str(_("Bad request.")), "code": "bad_request"}, status=400)
    return bad_request(request, exception)
