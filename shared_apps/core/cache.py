"""A Redis cache that degrades to "miss" when Redis is unreachable.

DESIGN.md section 6: a cache outage falls back to the database, never to an error. Reads
return the default, writes are dropped; both are logged (once per burst, not per call).
"""

import logging
import time
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_LOG_EVERY_SECONDS = 30.0


def _degrade(fallback):
    def decorator(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except _OUTAGE_ERRORS:
                now = time.monotonic()
                if now - self._last_outage_log > _LOG_EVERY_SECONDS:
                    self._last_outage_log = now
                    logger.warning("cache unavailable, serving from the database", exc_info=True)
                return fallback(*args, **kwargs)

        return wrapper

    return decorator


def _default_from(position: int, name: str = "default"):
    def fallback(*args, **kwargs):
        if name in kwargs:
            return kwargs[name]
        return args[position] if len(args) > position else None

    return fallback


class ResilientRedisCache(RedisCache):
    _last_outage_log = float("-inf")

    get = _degrade(_default_from(1))(RedisCache.get)
    get_many = _degrade(lambda *a, **k: {})(RedisCache.get_many)
    set = _degrade(lambda *a, **k: None)(RedisCache.set)
    set_many = _degrade(lambda keys, *a, **k: list(keys))(RedisCache.set_many)
    add = _degrade(lambda *a, **k: False)(RedisCache.add)
    touch = _degrade(lambda *a, **k: False)(RedisCache.touch)
    delete = _degrade(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _degrade(lambda *a, **k: None)(RedisCache.delete_many)
    has_key = _degrade(lambda *a, **k: False)(RedisCache.has_key)
    incr = _degrade(_default_from(1, "delta"))(RedisCache.incr)

    def clear(self):
        # FLUSHDB would wipe every tenant's keys (DESIGN.md section 6): invalidate with
        # per-tenant version keys instead.
        raise NotImplementedError("cache.clear() wipes every tenant; use version keys")
