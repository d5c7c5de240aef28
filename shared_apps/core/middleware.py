import json

from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from shared_apps.core.health import billing_state, health_status
from shared_apps.core.parsers import JSON_MAX_DEPTH, JSON_TOO_DEEP, json_depth_exceeds

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
    # The decoded path, every header (the session token of the JSON login, the API
    # token, If-Match...), every query value and every cookie (the session key is looked
    # up in the database).
    if "\x00" in request.path_info:
        return True
    if any("\x00" in value for name, value in request.META.items() if name.startswith("HTTP_")):
        return True
    if "\x00" in request.META.get("QUERY_STRING", "") or any(
        "\x00" in name or any("\x00" in value for value in values) for name, values in request.GET.lists()
    ):
        return True
    return any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items())


# allauth's headless API (config/urls_*.py) parses its JSON bodies itself, with
# json.loads: without this guard a deeply nested body is a RecursionError (500) there.
HEADLESS_PREFIX = "/_allauth/"


def _headless_json_too_deep(request) -> bool:
    if not request.path_info.startswith(HEADLESS_PREFIX) or request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    try:
        data = json.loads(request.body)
    except RecursionError:
        return True
    except ValueError:  # not JSON: allauth answers 400 itself
        return False
    return json_depth_exceeds(data, JSON_MAX_DEPTH)


class NulCharacterGuardMiddleware:
    """400 for a request whose path, headers, query string or cookies hold a NUL character, before
    anything reaches PostgreSQL (which refuses NUL in text with an error, a 500). Request
    bodies are covered by the form and serializer fields (Django's and DRF's CharField
    refuse NUL) and by the JSON parser; JSON nested too deep for allauth's headless API
    is refused here too (DRF's views have BoundedJSONParser)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _holds_nul(request):
            return JsonResponse({"detail": str(NUL_REFUSED), "code": "nul_character"}, status=400)
        if _headless_json_too_deep(request):
            # In allauth's error shape, like its other answers under /_allauth/.
            message = str(JSON_TOO_DEEP % {"limit": JSON_MAX_DEPTH})
            return JsonResponse({"status": 400, "errors": [{"message": message, "code": "invalid"}]}, status=400)
        return self.get_response(request)
