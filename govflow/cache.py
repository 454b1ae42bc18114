"""The Django cache, used so that a cache outage never fails a request.

In production the cache is Redis (often the broker's server too). Nothing
govflow keeps there is the truth: rate-limit counters, the webhooks'
active-kinds entry, the calendar banner. So every read and write goes
through `cache_call` (or the helpers below), which turns the cache
backend's connection errors into a fallback the caller chooses: rate limits
fail open, everything else recomputes from the database.

While the cache is failing, a small breaker per cache alias skips it for
`BREAKER_SECONDS` after each failure, so a cache host that does not answer
(a 2 s connect timeout per call) costs one slow call every few seconds per
process rather than several per request. Each fallback is counted in
`govflow_cache_unavailable_total{use}` on /metrics, and logged as a warning
at most once a minute per use.

`RedisCache` is Django's Redis backend keeping one client per connection
pool: Django's builds a new `redis.Redis` (and its table of response
callbacks, about 0.3 ms) for every call, several times per API request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.core.signals import setting_changed
from django.dispatch import receiver
from prometheus_client import Counter
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

BREAKER_SECONDS = 5.0
LOG_EVERY_SECONDS = 60.0


# Socket-level errors from any backend, and redis-py's own (Django's RedisCache
# raises them).
CACHE_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, RedisError)

CACHE_UNAVAILABLE = Counter(
    "govflow_cache_unavailable",
    "Cache operations skipped or failed because the cache was unavailable; the caller fell back.",
    ["use"],
)

_lock = threading.Lock()
_down_until: dict[str, float] = {}
_logged_at: dict[str, float] = {}


def cache_is_down(alias: str = "default") -> bool:
    """Whether the breaker is open: a call to this cache failed less than
    BREAKER_SECONDS ago."""
    return time.monotonic() < _down_until.get(alias, 0.0)


def cache_unavailable(use: str, exc: BaseException | None = None, *, alias: str = "default") -> None:
    """Count (and now and then log) one fallback; with `exc`, open the breaker."""
    now = time.monotonic()
    CACHE_UNAVAILABLE.labels(use=use).inc()
    with _lock:
        if exc is not None:
            _down_until[alias] = now + BREAKER_SECONDS
        if now - _logged_at.get(use, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
            return
        _logged_at[use] = now
    reason = exc.__class__.__name__ if exc is not None else f"failed less than {BREAKER_SECONDS:g} s ago"
    log.warning("cache %r unavailable (%s): %s falls back (logged once a minute)", alias, reason, use)


def cache_call(use: str, fallback: T, operation: Callable[[], T], *, alias: str = "default") -> T:
    """`operation()` (something that talks to the cache), or `fallback` when
    the cache is unavailable. `use` names the caller in the metric and log."""
    if cache_is_down(alias):
        cache_unavailable(use, alias=alias)
        return fallback
    try:
        return operation()
    except CACHE_ERRORS as exc:
        cache_unavailable(use, exc, alias=alias)
        return fallback


def cache_get(key: str, default: Any = None, *, use: str, alias: str = "default") -> Any:
    """The cached value, or `default` when it is missing or the cache is down."""
    return cache_call(use, default, lambda: caches[alias].get(key, default), alias=alias)


def cache_set(key: str, value: Any, timeout: float | None, *, use: str, alias: str = "default") -> bool:
    """Store a value; False (and nothing raised) when the cache is down."""

    def store() -> bool:
        caches[alias].set(key, value, timeout)
        return True

    return cache_call(use, False, store, alias=alias)


def cache_delete(key: str, *, use: str, alias: str = "default") -> bool:
    """Remove a key; False when the cache is down (the entry then expires by its timeout)."""
    return cache_call(use, False, lambda: bool(caches[alias].delete(key)), alias=alias)


def cache_count_hit(key: str, timeout: int, *, alias: str = "default") -> int:
    """Add one to the counter `key` and return the new count. The first hit
    makes the counter, expiring after `timeout` seconds. Atomic on every
    backend: on Redis one round trip (INCR, and EXPIRE on the first, in a script),
    elsewhere `add` then `incr`. Connection errors are the caller's (use it
    inside `cache_call`)."""
    cache = caches[alias]
    if isinstance(cache, RedisCache):
        return cache.count_hit(key, timeout)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def breaker_reset() -> None:
    """Close every breaker (tests; a changed CACHES setting)."""
    with _lock:
        _down_until.clear()
        _logged_at.clear()


@receiver(setting_changed)
def _cache_settings_changed(*, setting: str, **_kwargs) -> None:
    if setting == "CACHES":
        breaker_reset()


class _PooledClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        # Django keeps a backend per thread; redis.Redis could be shared
        # anyway (each command takes a connection from the pool).
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


# A hit counter that expires `timeout` seconds after its first hit; atomic,
# as every script is (EVALSHA: one command, one round trip).
_COUNT_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisCache(DjangoRedisCache):
    """django.core.cache.backends.redis.RedisCache with its clients reused."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _PooledClient
        self._count_scripts: dict[int, Any] = {}

    def count_hit(self, key: str, timeout: int, version: int | None = None) -> int:
        """See `cache_count_hit`: one script on the server (Django's `add`
        and `incr` would take three round trips, its `incr` asking whether
        the key exists first)."""
        key = self.make_and_validate_key(key, version=version)
        client = self._cache.get_client(key, write=True)
        script = self._count_scripts.get(id(client))
        if script is None:
            script = self._count_scripts[id(client)] = client.register_script(_COUNT_HIT)
        return script(keys=[key], args=[max(1, int(timeout))])
