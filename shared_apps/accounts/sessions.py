"""Sessions in the database with a short-lived cache in front (Django's `cached_db`).

Django caches a session for its whole age (two weeks). If Redis misses the delete at
logout (an outage: the resilient cache drops writes), that entry would keep a logged-out
session alive for weeks once Redis is back. Here the cache holds a session for
SESSION_CACHE_SECONDS at most: after that the database, where logout always lands,
decides."""

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore


class _Capped:
    """The session cache with every timeout capped."""

    def __init__(self, cache, seconds: int) -> None:
        self._cache = cache
        self._seconds = seconds

    def _timeout(self, timeout):
        return self._seconds if timeout is None else min(timeout, self._seconds)

    def set(self, key, value, timeout=None, *args, **kwargs):
        return self._cache.set(key, value, self._timeout(timeout), *args, **kwargs)

    async def aset(self, key, value, timeout=None, *args, **kwargs):
        return await self._cache.aset(key, value, self._timeout(timeout), *args, **kwargs)

    def __contains__(self, key) -> bool:  # dunders are not looked up through __getattr__
        return key in self._cache

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(CachedDbSessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _Capped(self._cache, settings.SESSION_CACHE_SECONDS)
