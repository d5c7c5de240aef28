"""Where the current write comes from (IP, user agent), for audit entries, without
threading the request through every service: AuditContextMiddleware sets a contextvar for
the duration of a request; audit_record reads it. Outside a request (Celery, commands,
tests) it is empty and entries carry no IP."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str


_CURRENT: ContextVar[RequestContext | None] = ContextVar("tessera_audit_request", default=None)


def request_context() -> RequestContext | None:
    return _CURRENT.get()


class AuditContextMiddleware:
    """Records the request's client address (REMOTE_ADDR: the proxy in front sets it; see
    docs/operations.md) and user agent for the entries its writes make."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _CURRENT.set(
            RequestContext(
                ip=request.META.get("REMOTE_ADDR") or None,
                user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:512],
            )
        )
        try:
            return self.get_response(request)
        finally:
            _CURRENT.reset(token)
