"""Rate limits on what costs the workers or the disk: a GCRA token bucket per client and bucket.

GCRA (the generic cell rate algorithm) keeps one number per key, the "theoretical arrival time"
(TAT): when the bucket would be full again if requests kept arriving at the allowed rate. A
request is allowed while TAT − now leaves room for one more emission interval within the burst;
allowing it moves TAT one interval on. Unlike a fixed window it never lets through two bursts at a
window's edge, and it needs no counter reset.

The state lives in Redis (the broker's) so that every web process and host shares one budget
(RELIABILITY 32): one Lua script reads and moves TAT atomically, on Redis's own clock, so web
hosts whose clocks disagree still agree on the budget. Without a Redis broker (the embedded
studio, tests with the memory queue) the same arithmetic runs in process. When Redis does not
answer, requests are still limited, by that in-process bucket of each web process (a looser
budget, never none and never an error); a warning is logged once per outage.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket's key. ARGV: emission interval (ms), burst (requests).
# Returns {allowed (0|1), remaining, retry_after_ms, reset_ms}.
GCRA_LUA = """
if redis.replicate_commands then redis.replicate_commands() end  -- TIME before a write (< 5.0)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
"""


@dataclass(frozen=True)
class Policy:
    """`per_minute` requests a minute on average, up to `burst` at once."""

    name: str  # the bucket: "jobs" or "uploads"
    per_minute: int
    burst: int

    @property
    def interval_ms(self) -> int:
        return max(1, round(60_000 / self.per_minute))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # requests still allowed right now
    retry_after_s: float  # 0 when allowed: how long until one more is
    reset_s: float  # how long until the whole burst is available again


def gcra(tat_ms: float | None, now_ms: float, policy: Policy) -> tuple[Decision, float | None]:
    """One GCRA step (the Lua script's arithmetic): the decision and the new TAT (None: keep)."""
    interval = policy.interval_ms
    tat = now_ms if tat_ms is None or tat_ms < now_ms else tat_ms
    new_tat = tat + interval
    allow_at = new_tat - interval * policy.burst
    if now_ms < allow_at:
        return Decision(False, 0, (allow_at - now_ms) / 1000, (tat - now_ms) / 1000), None
    remaining = math.floor((now_ms - allow_at) / interval)
    return Decision(True, remaining, 0.0, (new_tat - now_ms) / 1000), new_tat


class Limiter(Protocol):
    def hit(self, key: str, policy: Policy) -> Decision: ...

    def close(self) -> None: ...


class LocalLimiter:
    """The buckets of one process (no Redis, or Redis down)."""

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()  # sync routes run on a thread pool

    def hit(self, key: str, policy: Policy) -> Decision:
        now = time.monotonic() * 1000
        with self._lock:
            decision, new_tat = gcra(self._tats.get(key), now, policy)
            if new_tat is not None:
                self._tats[key] = new_tat
            if len(self._tats) > 10_000:  # bound memory: a full bucket holds no information
                self._tats = {k: t for k, t in self._tats.items() if t > now}
        return decision

    def close(self) -> None:
        return None


class RedisLimiter:
    """The buckets of every web process, in Redis; the local ones while Redis is unreachable."""

    def __init__(self, url: str, *, timeout_s: float = 0.5, retry_s: float = 5.0) -> None:
        import redis

        # A short timeout: a request waits at most this long for a Redis that went away, and
        # after a failure Redis is left alone for `retry_s`, so an outage costs one wait per
        # `retry_s`, not one per request.
        self._redis: Any = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        self._script = self._redis.register_script(GCRA_LUA)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._fallback = LocalLimiter()
        self._retry_s = retry_s
        self._down_until: float | None = None  # monotonic time of the next try while down

    def hit(self, key: str, policy: Policy) -> Decision:
        if self._down_until is not None and time.monotonic() < self._down_until:
            return self._fallback.hit(key, policy)
        try:
            allowed, remaining, retry_ms, reset_ms = self._script(
                keys=[key], args=[policy.interval_ms, policy.burst]
            )
        except self._errors as exc:
            if self._down_until is None:
                logger.warning("rate limits: Redis unreachable (%s); limiting per web process "
                               "until it is back", type(exc).__name__)
            self._down_until = time.monotonic() + self._retry_s
            return self._fallback.hit(key, policy)
        if self._down_until is not None:
            logger.info("rate limits: Redis is back; budgets are shared again")
            self._down_until = None
        return Decision(bool(allowed), int(remaining), int(retry_ms) / 1000, int(reset_ms) / 1000)

    def close(self) -> None:
        self._redis.close()


def make_limiter(broker_url: str) -> Limiter:
    """The broker's Redis when the broker is Redis, else buckets in this process."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLimiter(broker_url)
    return LocalLimiter()
