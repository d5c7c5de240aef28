from csp.decorators import csp_update
from django.shortcuts import render


def landing(request):
    return render(request, "core/landing.html")


# Swagger UI and Redoc (served from the sidecar package) inject styles at run time and
# Redoc runs a web worker from a blob: the CSP is widened for these two pages only; their
# scripts still come from our own static files (the "split" Swagger view serves its
# start-up script as a file instead of inline).
api_docs_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"], "img-src": ["data:"]})
