"""Full garbage collections at quiet moments, not in the middle of a burst of deadlines.

CPython starts a full (generation 2) collection whenever its allocation
counts say so. On the daemon's heap that pauses the event loop for tens of
milliseconds (37 ms measured with 1,000 calls ringing), and it tends to come
just when a thousand enforcement actions are being built. :class:`QuietGC`
turns the automatic full collection off and runs it itself: every
``interval_s``, unless a source (the ring enforcer) says a deadline falls
within ``margin_s``; then right after that deadline, and never later than
``max_wait_s`` after the previous one. Young generations stay automatic (well
under a millisecond each). Garbage without cycles is freed at once whatever
the schedule; only cyclic garbage waits for the next full collection.

At start, everything alive (modules, classes, settings: some 60,000 objects,
whose scan alone made a full collection take ~60 ms) is moved out of the
collector's sight with :func:`gc.freeze`, so a full collection scans only what
the daemon allocated since: well under a millisecond on an idle daemon.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence

import structlog

log = structlog.get_logger(__name__)

QuietFor = Callable[[], float | None]
"""Loop seconds until the source's next deadline; None when it has none."""

NEVER = 1 << 30
"""A generation-2 threshold that automatic collection never reaches."""


class QuietGC:
    """Runs full collections when no ``sources`` deadline is near (see the module doc).

    Several may run in one process: the first started takes the thresholds over,
    the last stopped gives them back.
    """

    _active = 0
    _saved: tuple[int, int, int] = gc.get_threshold()

    def __init__(
        self,
        sources: Sequence[QuietFor],
        *,
        interval_s: float = 10.0,
        margin_s: float = 0.5,
        max_wait_s: float = 60.0,
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self.sources = list(sources)
        self.interval_s, self.margin_s, self.max_wait_s = interval_s, margin_s, max_wait_s
        self.collections = 0
        self.last_pause_s = 0.0
        self._collect = collect
        self._running = False
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0

    def start(self) -> None:
        """Take over generation-2 collections (needs a running loop)."""
        if self._running:
            return
        if not QuietGC._active:
            QuietGC._saved = gc.get_threshold()
            gc.set_threshold(QuietGC._saved[0], QuietGC._saved[1], NEVER)
            gc.collect()
            gc.freeze()  # what lives now lives for good: never scanned again
        QuietGC._active += 1
        self._running = True
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        self._timer = loop.call_later(self.interval_s, self._tick)

    def stop(self) -> None:
        """Give generation-2 collections back to CPython (when no other QuietGC runs)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._running:
            return
        self._running = False
        QuietGC._active -= 1
        if not QuietGC._active:
            gc.set_threshold(*QuietGC._saved)
            gc.unfreeze()

    def quiet_for(self) -> float | None:
        """Loop seconds until the nearest deadline of any source (None: none)."""
        waits = [w for w in (source() for source in self.sources) if w is not None]
        return min(waits, default=None)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = self.quiet_for()
        if wait is not None and wait <= self.margin_s and now - self._last < self.max_wait_s:
            # collect just after the deadline has been acted on
            self._timer = loop.call_later(max(wait, 0.0) + self.margin_s / 10, self._tick)
            return
        started = time.perf_counter()
        self._collect()
        self.last_pause_s = time.perf_counter() - started
        self.collections += 1
        self._last = loop.time()
        log.debug("quiet_gc_collected", pause_ms=round(self.last_pause_s * 1000, 2))
        self._timer = loop.call_later(self.interval_s, self._tick)
