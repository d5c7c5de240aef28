from django.http import JsonResponse

from shared_apps.core.health import billing_state, health_status

HEALTH_PATH = "/healthz"


class HealthCheckMiddleware:
    """Serves GET /healthz on any host (load balancers probe by IP), before tenant
    resolution and host validation: 200 when the database, Redis and a worker answer. It
    also says whether billing is on (informational: billing off is a valid setup)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.rstrip("/") != HEALTH_PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"detail": "Method not allowed."}, status=405)
        healthy, checks = health_status()
        body = {"status": "ok" if healthy else "unavailable", "checks": checks, "billing": billing_state()}
        return JsonResponse(body, status=200 if healthy else 503)
