"""Simulated time: runs ``speed`` times faster than the wall clock.

Two readings: :meth:`SimClock.now` is continuous (derived from the monotonic
clock); :meth:`SimClock.event_time` is the *logical* time the PBX stamps its
events with. A timer advances the logical time to the simulated instant it was
due, not to the (possibly later) moment a busy loop ran it, so durations in
Timestamps and recordings stay exact under load; external input (an action, a
scripted call) first brings the logical time up to :meth:`now` with :meth:`sync`.

A clock that starts in the past with ``catch_up=True`` runs ``speed`` times faster
only until it reaches the wall clock, then at the wall clock's pace: the demo
replays the last hour quickly and then never stamps anything in the future.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any


class SimClock:
    """Simulated Unix epoch seconds; ``speed=60`` makes a simulated minute last one wall second."""

    def __init__(self, speed: float = 1.0, start: float | None = None, *,
                 catch_up: bool = False) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        wall0 = time.time()
        self._epoch0 = wall0 if start is None else start
        self._mono0 = time.monotonic()
        self._logical = self._epoch0
        lead = wall0 - self._epoch0
        self._fast_s = lead / (speed - 1) if catch_up and speed > 1 and lead > 0 else math.inf
        """Loop seconds at ``speed``; after them the clock keeps the wall clock's pace."""

    def _sim_after(self, loop_s: float) -> float:
        """Simulated seconds after the start when ``loop_s`` loop seconds have passed."""
        if loop_s <= self._fast_s:
            return loop_s * self.speed
        return self._fast_s * self.speed + (loop_s - self._fast_s)

    def _loop_after(self, sim_s: float) -> float:
        """The inverse of :meth:`_sim_after`."""
        fast = self._fast_s * self.speed
        return sim_s / self.speed if sim_s <= fast else self._fast_s + (sim_s - fast)

    def now(self) -> float:
        """The current simulated time (epoch seconds, UTC), continuous."""
        return self._epoch0 + self._sim_after(time.monotonic() - self._mono0)

    def event_time(self) -> float:
        """The logical time of what the PBX is doing now (epoch seconds, UTC)."""
        return self._logical

    def advance(self, sim_time: float) -> None:
        """Move the logical time forward to ``sim_time`` (never backwards)."""
        self._logical = max(self._logical, sim_time)

    def sync(self) -> None:
        """Bring the logical time up to :meth:`now` (before reacting to outside input)."""
        self.advance(self.now())

    def _loop_time(self, sim_time: float) -> float:
        return self._mono0 + self._loop_after(sim_time - self._epoch0)

    def call_later(self, sim_seconds: float, cb: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Run ``cb(*args)`` ``sim_seconds`` after the logical time, at that logical time.

        Overdue timers run in the order they were due.
        """
        target = self._logical + max(0.0, sim_seconds)

        def fire() -> None:
            self.advance(target)
            cb(*args)

        return asyncio.get_running_loop().call_at(self._loop_time(target), fire)

    def due(self, sim_seconds: float) -> float:
        """The logical time ``sim_seconds`` from now (for messages that carry their time)."""
        return self._logical + max(0.0, sim_seconds)

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` of logical time; the logical time is then the wake-up instant."""
        target = self._logical + max(0.0, sim_seconds)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        handle = loop.call_at(self._loop_time(target), _wake, fut)
        try:
            await fut
        finally:
            handle.cancel()
        self.advance(target)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def whole_seconds(duration: float) -> int:
    """A duration in whole seconds as Asterisk reports it (truncated; a timer that
    fires a hair early still counts its full second)."""
    return int(duration + 1e-3)
