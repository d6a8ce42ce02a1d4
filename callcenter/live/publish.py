"""Publishing this instance's live facts to the other instances (``pg_notify``).

The real-time path only appends to a bounded queue (:meth:`LivePublisher.tap`, no I/O,
no encoding); a task drains it once per turn of the event loop into as few
notifications as fit (:func:`callcenter.live.wire.pack`), sent in one statement on a
dedicated connection. Facts stay queued until sent (a broken link resends them once it
is back); a full queue drops the newest, counted in ``dropped`` and logged as an error.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Sequence

import asyncpg
import structlog

from callcenter.calls.model import Fact
from callcenter.live.link import TIMEOUT_S, Connect, LinkHealth, keep_connected
from callcenter.live.wire import CHANNEL, LIMIT, pack, synced
from callcenter.store.live_channel import notify

log = structlog.get_logger(__name__)

QUEUE_FACTS = 20_000
"""Facts waiting to be published at most (a minute of a busy centre's facts)."""


class LivePublisher:
    """Publishes the facts tapped from this instance's live consumer; on request
    (:meth:`request_present`) also the present of the PBXs it owns (``present()``)."""

    def __init__(self, instance: str, connect: Connect, *, present: Callable[[], list[Fact]],
                 max_queued: int = QUEUE_FACTS, limit: int = LIMIT) -> None:
        self.instance = instance
        self.connect = connect
        self.present = present
        self.max_queued = max_queued
        self.limit = limit
        self.queue: deque[Fact] = deque()
        self.link = LinkHealth()
        self.published = 0
        """Notifications sent."""
        self.dropped = 0
        """Facts never published (the queue full, or too long for a notification)."""
        self._wake = asyncio.Event()
        self._present_wanted = False
        self._seq = itertools.count(1)
        self._dropping = False

    def tap(self, facts: Sequence[Fact]) -> None:
        """Queue the facts other instances need (a :class:`LiveConsumer` tap)."""
        for fact in facts:
            if not synced(fact):
                continue
            if len(self.queue) >= self.max_queued:
                self._drop(1, "queue_full")
                continue
            self.queue.append(fact)
            self._dropping = False
        self._wake.set()

    def request_present(self) -> None:
        """Publish the present of the PBXs this instance owns at the next turn."""
        self._present_wanted = True
        self._wake.set()

    def _drop(self, n: int, why: str) -> None:
        self.dropped += n
        if not self._dropping:
            log.error("live_sync_dropped", reason=why, facts=n, dropped_total=self.dropped,
                      queued=len(self.queue))
        self._dropping = True

    async def run(self) -> None:
        """Drain the queue into notifications until cancelled."""
        await keep_connected("publish", self.connect, self._drain, self.link)

    async def _drain(self, conn: asyncpg.Connection) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            taken = len(self.queue)
            present, self._present_wanted = self._present_wanted, False
            facts = list(itertools.islice(self.queue, taken))
            if present:
                facts += self.present()
            messages, too_long = pack(self.instance, facts, self._seq, self.limit)
            try:
                if messages:
                    await asyncio.wait_for(notify(conn, CHANNEL, messages), TIMEOUT_S)
            except BaseException:
                self._present_wanted |= present
                self._wake.set()  # resent on the next connection
                raise
            for _ in range(taken):
                self.queue.popleft()
            self.published += len(messages)
            if too_long:
                self._drop(too_long, "too_long")
