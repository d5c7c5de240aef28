from csp.decorators import csp_update
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.defaults import bad_request, page_not_found


def landing(request):
    return render(request, "core/landing.html")


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


# Swagger UI and Redoc (served from the sidecar package) inject styles at run time and
# Redoc runs a web worker from a blob: the CSP is widened for these two pages only; their
# scripts still come from our own static files (the "split" Swagger view serves its
# start-up script as a file instead of inline).
api_docs_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"], "img-src": ["data:"]})
