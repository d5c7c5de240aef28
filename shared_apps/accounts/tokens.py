"""Personal API tokens: creation, revocation and the DRF authentication class."""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from allauth.account.adapter import get_adapter
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from shared_apps.accounts.audit import account_audit_record
from shared_apps.accounts.middleware import TWO_FACTOR_REQUIRED, TWO_FACTOR_REQUIRED_MESSAGE, two_factor_missing
from shared_apps.accounts.models import ApiToken, User
from shared_apps.audit.services import audit_target
from shared_apps.core.middleware import language_activate

KEY_PREFIX = "tsr_"
_PREFIX_LENGTH = 12
# Failed token authentications allowed per client address and window.
FAILURES_ALLOWED = 20
FAILURE_WINDOW_SECONDS = 300
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# What api_token_create can produce (the prefix, then URL-safe base64). Anything else is
# refused before the query: PostgreSQL cannot even compare a string holding NUL.
_KEY_SHAPE = re.compile(r"tsr_[A-Za-z0-9_-]{1,128}")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None, actor: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it and its key. The key is not stored and
    cannot be shown again. Audited (api_token.created) in the platform's log and in the
    log of each organisation the user belongs to (shared_apps/accounts/audit.py). `actor` None: the user themself."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[:_PREFIX_LENGTH], key_digest=_digest(key), expires_at=expires_at
        )
        account_audit_record(
            action="api_token.created",
            actor=actor or user,
            user=user,
            target=audit_target(token, f"{token.prefix}… ({user.email})"),
            after={"name": name, "expires_at": expires_at},
        )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    """Revoke `token` (audited: api_token.revoked). `actor` None: its user."""
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            account_audit_record(
                action="api_token.revoked",
                actor=actor or token.user,
                user=token.user,
                target=audit_target(token, f"{token.prefix}… ({token.user.email})"),
            )
    return token


def _client_address(request) -> str:
    # The same client address allauth's limits use (honours ALLAUTH_TRUSTED_PROXY_COUNT,
    # so behind a proxy each client is counted, not the proxy).
    return get_adapter().get_client_ip(request) or "unknown"


def _failure_key(request) -> str:
    return f"api-token-failures:{_client_address(request)}"


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`. Revoked, expired or unknown keys are refused (401);
    more than FAILURES_ALLOWED failures from one address in FAILURE_WINDOW_SECONDS are
    answered 429 until the window passes."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        failures = caches["platform"]
        if (failures.get(_failure_key(request)) or 0) >= FAILURES_ALLOWED:
            raise exceptions.Throttled(detail=_("Too many failed token authentications; try again later."))
        if len(parts) != 2:
            self._fail(request)
            raise exceptions.AuthenticationFailed(_("Invalid token header: use 'Token <key>'."))
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            self._fail(request)
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        return self._authenticate_key(request, key)

    def _authenticate_key(self, request, key: str):
        if not _KEY_SHAPE.fullmatch(key):
            self._fail(request)
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        digest = _digest(key)
        now = timezone.now()
        candidates = ApiToken.objects.select_related("user").filter(prefix=key[:_PREFIX_LENGTH])
        token = next((t for t in candidates if hmac.compare_digest(t.key_digest, digest)), None)
        if token is None or not token.user.is_active:
            self._fail(request)
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            self._fail(request)
            raise exceptions.AuthenticationFailed(_("This token has been revoked."))
        if token.expires_at is not None and token.expires_at <= now:
            self._fail(request)
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if two_factor_missing(request, token.user):
            # The organisation requires two-factor authentication and this person has
            # not set it up: their tokens work here again once they have.
            raise exceptions.PermissionDenied({"detail": TWO_FACTOR_REQUIRED_MESSAGE, "code": TWO_FACTOR_REQUIRED})
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        language_activate(request, token.user)
        return token.user, token

    def _fail(self, request) -> None:
        failures = caches["platform"]
        key = _failure_key(request)
        if not failures.add(key, 1, FAILURE_WINDOW_SECONDS):
            try:
                failures.incr(key)
            except ValueError:  # expired between add() and incr()
                failures.add(key, 1, FAILURE_WINDOW_SECONDS)

    def authenticate_header(self, request) -> str:
        return self.keyword
