"""The durable path of a server's pipeline: journal first, then the durable consumers.

:class:`DurablePath` takes what the real-time path hands it without ever making
it wait: entries and facts queue in memory up to ``max_entries``; the path's
task journals them (several batches in one write when it fell behind), then
gives the facts to the durable consumers through a :class:`FanOut`. A batch
that finds the queue full is dropped and recorded as a journal gap by the
writer (its exact sequence range), at error level.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog

from callcenter.calls.model import Fact
from callcenter.store.journal import JournalEntry
from callcenter.store.writer import Op, StoreWriter

log = structlog.get_logger(__name__)


@runtime_checkable
class Consumer(Protocol):
    """A durable-path consumer of the tracker's facts (store, recordings, ...).

    One marked ``lossless = True`` (the store: its writes never wait longer than the
    write timeout, then spool) makes the durable path wait while its queue is full;
    any other one that falls that far behind loses the batches that find its queue full
    (counted, logged at error level): a stalled consumer never holds up the journal.
    """

    async def on_facts(self, facts: Sequence[Fact]) -> None: ...


@dataclass
class QueueMetrics:
    """Depth and fullness of one bounded queue."""

    name: str
    max_depth: int = 0
    full_events: int = 0
    """Times a producer found the queue full and had to wait (back-pressure)."""
    bytes_full_events: int = 0
    """Times a producer found the queue's byte bound reached and had to wait."""
    dropped_batches: int = 0
    """Batches a consumer that may lag lost because its queue was full."""

    def saw(self, q: asyncio.Queue[Any]) -> None:
        self.max_depth = max(self.max_depth, q.qsize())
        if q.full():
            if self.full_events % 1000 == 0:
                log.warning("queue_full", queue=self.name, size=q.maxsize,
                            times=self.full_events + 1)
            self.full_events += 1


class FanOut:
    """Delivers facts to each consumer through its own bounded queue and task."""

    def __init__(self, consumers: Sequence[Consumer], maxsize: int = 64) -> None:
        self.consumers = list(consumers)
        self.queues: list[asyncio.Queue[Sequence[Fact] | None]] = [
            asyncio.Queue(maxsize) for _ in self.consumers]
        self.metrics = [QueueMetrics(f"consumer:{type(c).__name__}") for c in self.consumers]
        self._tasks = [asyncio.create_task(self._run(c, q), name=f"consumer-{type(c).__name__}")
                       for c, q in zip(self.consumers, self.queues, strict=True)]

    async def dispatch(self, facts: Sequence[Fact]) -> None:
        """Queue ``facts`` for every consumer; waits while a lossless consumer's queue is
        full, drops the batch for any other whose queue is full."""
        for consumer, q, m in zip(self.consumers, self.queues, self.metrics, strict=True):
            m.saw(q)
            if getattr(consumer, "lossless", False) is True:
                await q.put(facts)
            elif q.full():
                if m.dropped_batches % 100 == 0:
                    log.error("consumer_behind_batch_dropped", consumer=m.name,
                              facts=len(facts), dropped=m.dropped_batches + 1)
                m.dropped_batches += 1
            else:
                q.put_nowait(facts)

    async def close(self) -> None:
        """Let every consumer finish what is queued, then stop."""
        for q in self.queues:
            await q.put(None)
        await asyncio.gather(*self._tasks)

    @staticmethod
    async def _run(consumer: Consumer, q: asyncio.Queue[Sequence[Fact] | None]) -> None:
        """Deliver in order; a consumer that fell behind gets what waits in one call."""
        done = False
        while not done:
            first = await q.get()
            if first is None:
                return
            facts = list(first)
            while not q.empty():
                more = q.get_nowait()
                if more is None:
                    done = True
                    break
                facts += more
            try:
                await consumer.on_facts(facts)
            except Exception:
                log.exception("consumer_failed", consumer=type(consumer).__name__)



Batch = tuple[list[JournalEntry], list[Fact], list[float]]


class DurablePath:
    """Journal, then durable consumers, for one server; fed by :meth:`submit`.

    ``on_committed(received_times, now)`` is called after each journal write
    (benches measure ingest latency with it).
    """

    def __init__(self, server: str, writer: StoreWriter | None, fanout: FanOut, *,
                 max_entries: int = 50_000, write_entries: int = 5_000,
                 on_committed: Callable[[Sequence[float], float], None] | None = None) -> None:
        self.server = server
        self.writer = writer
        self.fanout = fanout
        self.max_entries = max_entries
        self.write_entries = write_entries
        self.on_committed = on_committed
        self.queued_entries = 0
        self.dropped_batches = 0
        self._queue: deque[Batch] = deque()
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def oldest_waiting_at(self) -> float | None:
        """Receive time of the oldest entry not yet journaled (None: nothing waits)."""
        for _, _, received in self._queue:
            if received:
                return received[0]
        return None

    def submit(self, entries: list[JournalEntry], facts: list[Fact],
               received: list[float]) -> None:
        """Queue a tracked batch; never waits. A full queue drops it (recorded as a gap)."""
        size = max(1, len(entries))
        if self._queue and self.queued_entries + size > self.max_entries:
            self.dropped_batches += 1
            reason = f"durable queue full ({self.max_entries} entries): the store is stalled"
            if self.writer is not None and entries:
                self.writer.record_loss(Op("journal", entries), reason)
            else:
                log.error("durable_batch_dropped", server=self.server, facts=len(facts),
                          reason=reason)
            return
        self._queue.append((entries, facts, received))
        self.queued_entries += size
        self._wake.set()

    async def run(self) -> None:
        """Write what is queued until :meth:`stop` (then what is left, and return)."""
        while True:
            if not self._queue:
                if self._stopping:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            await self._write(self._take())

    async def stop(self) -> None:
        """Let :meth:`run` finish what is queued and return."""
        self._stopping = True
        self._wake.set()

    def _take(self) -> Batch:
        entries: list[JournalEntry] = []
        facts: list[Fact] = []
        received: list[float] = []
        while self._queue and (not entries or
                               len(entries) + len(self._queue[0][0]) <= self.write_entries):
            e, f, r = self._queue.popleft()
            self.queued_entries -= max(1, len(e))
            entries += e
            facts += f
            received += r
        return entries, facts, received

    async def _write(self, batch: Batch) -> None:
        entries, facts, received = batch
        if self.writer is not None:
            await self.writer.write_journal(entries)
        if self.on_committed is not None:
            self.on_committed(received, time.time())
        if facts:
            await self.fanout.dispatch(facts)
