"""Login throttling: failed sign-ins counted per (username, address) in a sliding window."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """Refuses sign-in for a key after ``max_failures`` failures within ``window_s`` seconds."""

    def __init__(self, max_failures: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        q = self._failures.get(key, deque())
        cutoff = self.clock() - self.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            self._failures.pop(key, None)
        return q

    def retry_after(self, username: str, remote: str) -> float:
        """Seconds until this user may try again from ``remote`` (0 when allowed now)."""
        q = self._recent((username.lower(), remote))
        if len(q) < self.max_failures:
            return 0.0
        return max(0.0, q[-self.max_failures] + self.window_s - self.clock())

    def failed(self, username: str, remote: str) -> None:
        """Count one failed sign-in."""
        key = (username.lower(), remote)
        self._recent(key)
        self._failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, username: str, remote: str) -> None:
        """Forget the failures of this user from ``remote``."""
        self._failures.pop((username.lower(), remote), None)


def minutes(seconds: float) -> int:
    """Whole minutes to tell a user to wait (at least 1)."""
    return max(1, math.ceil(seconds / 60))
