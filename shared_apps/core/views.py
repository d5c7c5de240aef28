from csp.decorators import csp_update
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


# Swagger UI and Redoc (served from the sidecar package) inject styles at run time and
# Redoc runs a web worker from a blob: the CSP is widened for these two pages only; their
# scripts still come from our own static files (the "split" Swagger view serves its
# start-up script as a file instead of inline).
api_docs_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"], "img-src": ["data:"]})
