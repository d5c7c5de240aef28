import pytest
from django.core.cache import caches

from shared_apps.core.cache import ResilientRedisCache


@pytest.fixture
def dead_cache():
    return ResilientRedisCache(
        "redis://127.0.0.1:1/0",
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}, "KEY_PREFIX": "dead"},
    )


def test_cache_outage_degrades_to_misses_not_errors(dead_cache):
    assert dead_cache.get("anything") is None
    assert dead_cache.get("anything", "fallback") == "fallback"
    assert dead_cache.get_many(["a", "b"]) == {}
    assert dead_cache.set("k", "v") is None
    assert dead_cache.add("k", "v") is False
    assert dead_cache.delete("k") is False
    assert dead_cache.has_key("k") is False
    dead_cache.delete_many(["a"])


def test_cache_clear_is_refused_because_it_would_wipe_every_tenant():
    with pytest.raises(NotImplementedError):
        caches["default"].clear()


def test_cache_outage_opens_the_breaker_so_requests_skip_redis(dead_cache, monkeypatch):
    assert dead_cache.get("first") is None  # fails against Redis, opens the breaker
    calls = []
    monkeypatch.setattr(dead_cache, "_cache", lambda: calls.append(1))

    assert dead_cache.get("second", "fallback") == "fallback"
    assert dead_cache.incr("counter") == 1
    assert calls == []  # Redis not even tried while the breaker is open
