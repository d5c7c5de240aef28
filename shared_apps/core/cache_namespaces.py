"""Per-tenant cache namespaces invalidated by a version number (DESIGN.md section 6):
never `cache.clear()`; bump the namespace's version and every key under it is gone."""

import secrets
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context

# Within one request each namespace's version is read once (CacheVersionsMiddleware):
# {(schema, version key): version}. None outside a request (workers, commands, tests
# calling services): every read then goes to the cache, as before.
_request_versions: ContextVar[dict | None] = ContextVar("tessera_cache_versions", default=None)
# The namespaces nearly every signed-in request reads (who the member is, their
# permissions, the projects): their versions come in one round trip at its start.
_PREFETCHED: list["CacheNamespace"] = []


class CacheNamespace:
    """Keys `<name>:<version>:<parts>` in the current schema's cache (the key function
    adds the schema). The version is seeded randomly, so an evicted version key never
    revives entries cached under an earlier number. `prefetch`: read with the others
    at the start of a signed-in request (cache_versions_prefetch)."""

    def __init__(self, name: str, *, prefetch: bool = False) -> None:
        self.name = name
        self._version_key = f"{name}:version"
        if prefetch:
            _PREFETCHED.append(self)

    def version(self) -> int:
        memo = _request_versions.get()
        slot = (connection.schema_name, self._version_key)
        if memo is not None and slot in memo:
            return memo[slot]
        version = cache.get(self._version_key)
        if version is None:
            cache.add(self._version_key, secrets.randbelow(2**31), None)
            version = cache.get(self._version_key) or 0
        if memo is not None:
            memo[slot] = version
        return version

    def key(self, *parts) -> str:
        return self.key_at(self.version(), *parts)

    def key_at(self, version: int, *parts) -> str:
        """A key under a version read earlier (e.g. once per request)."""
        return ":".join([self.name, str(version), *map(str, parts)])

    def _bump_here(self) -> None:
        memo = _request_versions.get()
        if memo is not None:  # this request reads the new version from now on
            memo.pop((connection.schema_name, self._version_key), None)
        if not cache.add(self._version_key, secrets.randbelow(2**31), None):
            try:
                cache.incr(self._version_key)
            except ValueError:  # expired between add() and incr()
                cache.add(self._version_key, secrets.randbelow(2**31), None)

    def bump(self) -> None:
        """Invalidate now and again when the transaction commits: a request that read the
        new version before the commit and cached an answer from the old rows is
        superseded. The commit callback runs in the schema captured here (it may fire
        after a schema_context has exited)."""
        self._bump_here()
        schema = connection.schema_name

        def bump_in_schema() -> None:
            with schema_context(schema):
                self._bump_here()

        transaction.on_commit(bump_in_schema)


def request_memo(key: str, load):
    """`load()` once per request for `key` (a full cache key, its namespace version
    included, so a bump within the request means a new key); outside a request, every
    call loads. For entries a request reads more than once (the projects, a member's
    permissions in a project)."""
    memo = _request_versions.get()
    if memo is None:
        return load()
    slot = ("value", connection.schema_name, key)
    if slot not in memo:
        memo[slot] = load()
    return memo[slot]


def cache_versions_prefetch() -> None:
    """Read the versions of the prefetched namespaces in one round trip (inside a
    request scope; a version missing from the cache is seeded at its first use)."""
    memo = _request_versions.get()
    if memo is None or not _PREFETCHED:
        return
    schema = connection.schema_name
    found = cache.get_many([namespace._version_key for namespace in _PREFETCHED])
    for version_key, version in found.items():
        memo.setdefault((schema, version_key), version)


class CacheVersionsMiddleware:
    """One request, one read of each namespace's version (a request that writes and
    bumps reads the new one after): the board read six version keys one by one, now one
    round trip (docs/benchmarks.md, "Web pages"). After the tenant is set, so versions
    are read in its schema; the prefetch only for requests that carry credentials."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):

        token = _request_versions.set({})
        try:
            if connection.schema_name != "public" and (
                settings.SESSION_COOKIE_NAME in request.COOKIES or "HTTP_AUTHORIZATION" in request.META
            ):
                cache_versions_prefetch()
            return self.get_response(request)
        finally:
            _request_versions.reset(token)
