"""Simulated time: runs ``speed`` times faster than the wall clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class SimClock:
    """Simulated Unix epoch seconds; ``speed=60`` makes a simulated minute last one wall second."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._epoch0 = time.time() if start is None else start
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """The current simulated time (epoch seconds, UTC)."""
        return self._epoch0 + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, sim_seconds) / self.speed)

    def call_later(self, sim_seconds: float, cb: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Run ``cb(*args)`` after ``sim_seconds`` of simulated time."""
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, sim_seconds) / self.speed, cb, *args)


def whole_seconds(duration: float) -> int:
    """A duration in whole seconds as Asterisk reports it (truncated; a timer that
    fires a hair early still counts its full second)."""
    return int(duration + 1e-3)
