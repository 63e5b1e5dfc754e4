"""Small rate limiters: frames per websocket connection, requests per client, failed logins.

All are in-process and in-memory: a limit applies per web replica, which is what
they guard (one connection's flood, one address's requests or password guesses on
this process). Keyed limiters forget their oldest key past ``max_keys``, so a flood
of addresses costs bounded memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class TokenBucket:
    """Allows ``rate_per_s`` events per second on average, bursts up to ``capacity``."""

    def __init__(self, rate_per_s: float, capacity: float | None = None) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = capacity if capacity is not None else max(rate_per_s, 1.0)
        self._tokens = self.capacity
        self._updated = time.monotonic()

    def allow(self, now: float | None = None) -> bool:
        """Take one token if there is one; False means "over the limit, reject"."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self.capacity, self._tokens + max(now - self._updated, 0.0) * self.rate_per_s)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class KeyedBuckets:
    """One :class:`TokenBucket` per key (a client address), the least recently used forgotten first."""

    def __init__(self, rate_per_s: float, capacity: float, max_keys: int = 10_000) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.popitem(last=False)
            bucket = self._buckets[key] = TokenBucket(self.rate_per_s, self.capacity)
        self._buckets.move_to_end(key)
        return bucket.allow(now)

    def retry_after_s(self) -> float:
        """Seconds until a rejected client has a token again."""
        return 1.0 / self.rate_per_s


class FailureWindow:
    """Counts failures per key in a sliding window; ``blocked`` once ``limit`` is reached."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            if len(self._failures) >= self.max_keys:
                self._failures.pop(next(iter(self._failures)))
            failures = self._failures[key] = deque()
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def blocked(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return len(self._recent(key, now)) >= self.limit

    def retry_after_s(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        failures = self._recent(key, now)
        return max(failures[0] + self.window_s - now, 0.0) if failures else 0.0

    def record_failure(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent(key, now).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
