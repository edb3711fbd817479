"""Limits on repeated attempts (the sign-in and setup forms' per-address limit)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class AttemptLimiter:
    """At most ``limit`` failed attempts per client address within ``window`` seconds.

    An attempt is counted when it starts (so concurrent guesses count too) and forgiven when it
    succeeds: a floor of leads behind one NAT address signing in at 09:30 is not refused, a
    guesser is. In memory, per process, bounded to ``max_clients`` addresses (the least recently
    seen forgotten first)."""

    def __init__(
        self,
        limit: int = 20,
        window: float = 300.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_clients, self.clock = limit, window, max_clients, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def attempt(self, key: str) -> int:
        """Count an attempt by ``key``: 0 if it may go ahead, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            hits = self._recent(key, now)
            if hits is not None and len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            if hits is None:
                hits = self._hits[key] = deque(maxlen=self.limit)
                while len(self._hits) > self.max_clients:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            hits.append(now)
            return 0

    def succeeded(self, key: str) -> None:
        """Forgive the attempt that just succeeded."""
        with self._lock:
            hits = self._hits.get(key)
            if hits:
                hits.pop()
                if not hits:
                    del self._hits[key]
