"""Live updates under WSGI (DESIGN.md section 10): a change version per project and per
task in Redis, bumped with every write (now and again on commit, like every cache
version: shared_apps/core/cache_namespaces.py). An open board, list or task page polls
its version; an unchanged answer costs one cache read and no SQL.

The poll carries a signed token issued when the page was rendered (after the page's own
permission check): it names the schema, the scope and the user, so the poll needs no
database to know the asker may follow that scope. A changed answer makes the page fetch
its fragment again through the ordinary, fully checked view."""

from django.core import signing
from django.db import connection

from shared_apps.core.cache_namespaces import CacheNamespace

_SALT = "tessera.live"
# A page left open longer than this reloads its token with its next fragment.
TOKEN_MAX_AGE_SECONDS = 12 * 3600


def _namespace(scope: str) -> CacheNamespace:
    return CacheNamespace(f"live:{scope}")


def live_scope_project(project_id: int) -> str:
    return f"project:{project_id}"


def live_scope_task(task_id: int) -> str:
    return f"task:{task_id}"


def live_bump(*, project_id: int | None = None, task_id: int | None = None) -> None:
    """Call inside the writing transaction: open pages of the project (board, list) and
    of the task see the change at their next poll."""
    if project_id is not None:
        _namespace(live_scope_project(project_id)).bump()
    if task_id is not None:
        _namespace(live_scope_task(task_id)).bump()


def live_version(scope: str) -> int:
    return _namespace(scope).version()


def live_token(*, scope: str, user_id: int) -> str:
    return signing.dumps([connection.schema_name, scope, user_id], salt=_SALT, compress=False)


def live_token_read(token: str, *, user_id: int | None) -> str | None:
    """The scope `token` grants to `user_id` in the current schema, or None."""
    try:
        schema, scope, token_user = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if schema != connection.schema_name or user_id is None or str(token_user) != str(user_id):
        return None
    return scope


LIVE_PATH = "/live/"


def live_check_answer(request):
    """GET ?t=<token>&v=<version>: 204 when nothing changed, else 200 with
    `HX-Trigger: tessera:changed` and a poller carrying the new version (the page then
    fetches its fragment through its ordinary, fully checked view). 403 for a token that
    is not this session's user's, in this organisation."""
    from django.contrib.auth import SESSION_KEY
    from django.http import HttpResponse
    from django.template.loader import render_to_string

    token = request.GET.get("t", "")
    scope = live_token_read(token, user_id=request.session.get(SESSION_KEY))
    if scope is None:
        return HttpResponse(status=403)
    current = str(live_version(scope))
    if request.GET.get("v") == current:
        return HttpResponse(status=204)
    body = render_to_string("tasks/live.html", {"live_token": token, "live_version": current})
    response = HttpResponse(body)
    response["HX-Trigger"] = "tessera:changed"
    return response


class LiveCheckMiddleware:
    """Answers the live-update poll (LIVE_PATH on an organisation's domain) right after
    the session is loaded, before authentication and everything that would read the user
    from the database: an idle page's poll costs the session's and the version's cache
    reads, no SQL (measured in tests/tenant_apps/tasks/test_pages.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == LIVE_PATH and request.method == "GET" and connection.schema_name != "public":
            return live_check_answer(request)
        return self.get_response(request)
