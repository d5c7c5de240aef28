"""A Redis cache that degrades to "miss" when Redis is unreachable or refuses work.

DESIGN.md section 6: a cache outage falls back to the database, never to an error. Reads
return the default, writes are dropped. After a failure the cache stays "open" for
`_RETRY_AFTER_SECONDS` (a circuit breaker): requests skip Redis entirely instead of each
waiting out the socket timeout. Failures are logged at most every 30 seconds.
"""

import logging
import time
from functools import wraps

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django_tenants.cache import make_key as tenant_make_key
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_OUTAGE_ERRORS = (RedisError, OSError)
_LOG_EVERY_SECONDS = 30.0
_RETRY_AFTER_SECONDS = 5.0


def _degrade(fallback):
    def decorator(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            now = time.monotonic()
            if now < self._skip_until:
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except _OUTAGE_ERRORS:
                self._skip_until = now + _RETRY_AFTER_SECONDS
                if now - self._last_outage_log > _LOG_EVERY_SECONDS:
                    self._last_outage_log = now
                    logger.warning("cache unavailable, serving from the database", exc_info=True)
                return fallback(*args, **kwargs)

        return wrapper

    return decorator


def _argument(position: int, name: str, default=None):
    """Fallback returning the caller's argument `name` (positional index `position`,
    counted after `self`), e.g. the `default` of `get(key, default)`."""

    def fallback(*args, **kwargs):
        if name in kwargs:
            return kwargs[name]
        return args[position] if len(args) > position else default

    return fallback


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client builds a new `redis.Redis` for every operation (~0.1 ms each, most
    of a local GET); one per connection pool serves them all (redis-py clients are
    thread-safe, and the pool reconnects after a fork)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class ResilientRedisCache(RedisCache):
    _last_outage_log = float("-inf")
    _skip_until = float("-inf")

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

    get = _degrade(_argument(1, "default"))(RedisCache.get)
    get_many = _degrade(lambda *a, **k: {})(RedisCache.get_many)
    set = _degrade(lambda *a, **k: None)(RedisCache.set)
    set_many = _degrade(lambda keys, *a, **k: list(keys))(RedisCache.set_many)
    add = _degrade(lambda *a, **k: False)(RedisCache.add)
    touch = _degrade(lambda *a, **k: False)(RedisCache.touch)
    delete = _degrade(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _degrade(lambda *a, **k: None)(RedisCache.delete_many)
    has_key = _degrade(lambda *a, **k: False)(RedisCache.has_key)
    incr = _degrade(_argument(1, "delta", default=1))(RedisCache.incr)

    def clear(self):
        # FLUSHDB would wipe every tenant's keys (DESIGN.md section 6): invalidate with
        # per-tenant version keys instead.
        raise NotImplementedError("cache.clear() wipes every tenant; use version keys")


def make_key(key: str, key_prefix: str, version) -> str:
    """django-tenants' key function (every key prefixed with the active schema), except
    allauth's rate-limit counters: a login or password-reset limit must hold across the
    root and every organisation domain, not once per schema."""
    if key.startswith("allauth:rl:"):
        return f"platform:{key_prefix}:{version}:{key}"
    return tenant_make_key(key, key_prefix, version)
