from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

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
            return JsonResponse({"detail": _("Method not allowed.")}, status=405)
        healthy, checks = health_status()
        body = {"status": "ok" if healthy else "unavailable", "checks": checks, "billing": billing_state()}
        return JsonResponse(body, status=200 if healthy else 503)


def language_activate(request, user) -> None:
    """Use `user`'s chosen language for this request when they chose one (it wins over
    Accept-Language, which LocaleMiddleware applied before)."""
    chosen = getattr(user, "language", "")
    if chosen and chosen in {code for code, _name in settings.LANGUAGES}:
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen


class UserLanguageMiddleware:
    """After authentication: the person's language setting, else the browser's
    Accept-Language (LocaleMiddleware), else the organisation's language. Token-
    authenticated API calls get the same in their authentication class."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            language_activate(request, user)
        elif "HTTP_ACCEPT_LANGUAGE" not in request.META:
            organization_language = getattr(getattr(request, "tenant", None), "language", "")
            if organization_language:
                translation.activate(organization_language)
                request.LANGUAGE_CODE = organization_language
        return self.get_response(request)


NUL_REFUSED = _("Null characters are not allowed in the request.")


def _holds_nul(request) -> bool:
    # The decoded path, every query value and every cookie (the session key is looked up
    # in the database); Host is validated by Django, the Authorization token by its class.
    if "\x00" in request.path_info:
        return True
    if "\x00" in request.META.get("QUERY_STRING", "") or any(
        "\x00" in name or any("\x00" in value for value in values) for name, values in request.GET.lists()
    ):
        return True
    return any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items())


class NulCharacterGuardMiddleware:
    """400 for a request whose path, query string or cookies hold a NUL character, before
    anything reaches PostgreSQL (which refuses NUL in text with an error, a 500). Request
    bodies are covered by the form and serializer fields (Django's and DRF's CharField
    refuse NUL) and by the JSON parser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _holds_nul(request):
            return JsonResponse({"detail": str(NUL_REFUSED), "code": "nul_character"}, status=400)
        return self.get_response(request)
