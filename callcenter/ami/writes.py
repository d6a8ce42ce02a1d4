"""Writes of one event-loop turn, sent as one: what a burst of actions or events needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class TurnWriter:
    """Collects the bytes written during one turn of the event loop and hands them
    to ``sink`` in one call at the end of the turn (or at :meth:`flush`)."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self._sink = sink
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Queue ``data``; the first write of a turn schedules the flush."""
        if not self._parts:
            asyncio.get_running_loop().call_soon(self.flush)
        self._parts.append(data)

    def flush(self) -> None:
        """Hand what is queued to the sink now (nothing when empty)."""
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            self._sink(data)

    def discard(self) -> None:
        """Forget what is queued (its connection is gone)."""
        self._parts.clear()
