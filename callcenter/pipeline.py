"""One server's ingest pipeline: entries → journal → tracker → consumers.

The same code runs live (the daemon feeds AMI frames, sent actions and
resync markers), on a replayed capture (``callcenter replay``) and, without
the journal stage, on ``callcenter rebuild``. Stages are joined by bounded
queues: a full queue makes the producer wait (back-pressure) and is counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import structlog

from callcenter.calls.model import CallRecord, Fact
from callcenter.store.journal import (
    EntryKind,
    JournalEntry,
    SeqClock,
    is_journaled,
    is_journaled_action,
    scrub_action,
)
from callcenter.store.writer import StoreWriter

log = structlog.get_logger(__name__)


@runtime_checkable
class Consumer(Protocol):
    """Anything that takes the tracker's facts (store, ringrule, live, ...)."""

    async def on_facts(self, facts: Sequence[Fact]) -> None: ...


class Tracker(Protocol):
    """What the pipeline needs of ``callcenter.calls.tracker.CallTracker``."""

    def feed(self, frame: dict[str, Any], received_at: float) -> list[Fact]: ...
    def feed_sent(self, action: dict[str, Any], sent_at: float) -> list[Fact]: ...
    def resync(self, active_linkedids: set[str], at: datetime) -> list[Fact]: ...
    def adopt(self, records: list[CallRecord]) -> None: ...


def apply_entry(tracker: Tracker, kind: EntryKind, payload: Any, at: float) -> list[Fact]:
    """Feed one journal entry to ``tracker``; the facts it learned."""
    if kind == "frame":
        return tracker.feed(payload, at)
    if kind == "sent":
        return tracker.feed_sent(payload, at)
    return tracker.resync(set(payload), datetime.fromtimestamp(at, UTC))


@dataclass
class QueueMetrics:
    """Depth and fullness of one bounded queue."""

    name: str
    max_depth: int = 0
    full_events: int = 0
    """Times a producer found the queue full and had to wait (back-pressure)."""

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
        """Queue ``facts`` for every consumer; waits while a queue is full."""
        for q, m in zip(self.queues, self.metrics, strict=True):
            m.saw(q)
            await q.put(facts)

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


@dataclass
class PipelineMetrics:
    """Counters of one server's pipeline."""

    entries_in: int = 0
    journaled: int = 0
    dropped_noise: int = 0
    rejected: int = 0
    batches: int = 0


Item = tuple[EntryKind, Any, float]
TRACK_SLICE = 100
"""Entries the tracker reads between two turns of the event loop."""


class JournalFilter:
    """Turns pipeline items into journal entries, dropping noise (:func:`is_journaled`).

    Sent actions are kept when they change something (secrets removed), and
    so are the responses carrying their ActionIDs.
    """

    def __init__(self, server: str, clock: SeqClock | None = None) -> None:
        self.server = server
        self.clock = clock or SeqClock()
        self._action_ids: dict[str, None] = {}

    def entry(self, item: Item) -> JournalEntry | None:
        """The journal entry for ``item``, or None when it is not journaled."""
        kind, payload, at = item
        if kind == "frame":
            if not isinstance(payload, dict) or not is_journaled(payload, self._action_ids.keys()):
                return None
            if "Event" not in payload:
                self._action_ids.pop(str(payload.get("ActionID")), None)
        elif kind == "sent":
            if not is_journaled_action(payload):
                return None
            payload = scrub_action(payload)
            if isinstance(payload.get("ActionID"), str):
                self._action_ids[payload["ActionID"]] = None
                if len(self._action_ids) > 10_000:
                    self._action_ids.pop(next(iter(self._action_ids)))
        return JournalEntry.of(self.server, self.clock.next(at), kind, payload, at)


class ServerPipeline:
    """Journal, then track, then fan out the entries of one server, in order.

    ``put_frame``/``put`` (async) wait for room in the bounded queue: the AMI
    client awaits ``on_event``, so a full queue stops it reading the socket
    (back-pressure). ``submit_sent`` (sync, for ``on_sent``) never waits: a
    sent action finding the queue full is held aside, in order, until there
    is room. ``run`` processes batches of up to ``batch_size`` entries,
    waiting at most ``batch_delay_s`` seconds to fill one.
    """

    def __init__(self, server: str, tracker: Tracker, writer: StoreWriter | None,
                 fanout: FanOut, *, batch_size: int = 500, batch_delay_s: float = 0.05,
                 queue_size: int = 2000, seq_clock: SeqClock | None = None,
                 on_committed: Callable[[Sequence[float], float], None] | None = None) -> None:
        self.server = server
        self.tracker = tracker
        self.writer = writer
        self.fanout = fanout
        self.batch_size = batch_size
        self.batch_delay_s = batch_delay_s
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(queue_size)
        self.clock = seq_clock or SeqClock()
        self.on_committed = on_committed
        self.metrics = PipelineMetrics()
        self.queue_metrics = QueueMetrics(f"ingest:{server}")
        self._held: deque[Item] = deque()
        self.filter = JournalFilter(server, self.clock)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start processing in a task."""
        self._task = asyncio.create_task(self.run(), name=f"pipeline-{self.server}")

    async def stop(self) -> None:
        """Process everything queued, then stop."""
        await self.put_item(None)
        if self._task is not None:
            await self._task

    async def put_frame(self, frame: dict[str, Any], received_at: float) -> None:
        """Enqueue an AMI frame, waiting for room (AMIClient ``on_event``)."""
        await self.put_item(("frame", frame, received_at))

    def submit_sent(self, action: dict[str, Any], sent_at: float) -> None:
        """Enqueue an action we sent, without waiting (AMIClient ``on_sent``)."""
        item: Item = ("sent", dict(action), sent_at)
        self.queue_metrics.saw(self.queue)
        if self._held or self.queue.full():
            self._held.append(item)
        else:
            self.queue.put_nowait(item)

    async def put(self, kind: EntryKind, payload: Any, received_at: float) -> None:
        """Enqueue an entry, waiting while the queue is full."""
        await self.put_item((kind, payload, received_at))

    async def put_item(self, item: Item | None) -> None:
        """Enqueue an item (None: stop after what is queued), waiting for room."""
        if item is not None:
            self.queue_metrics.saw(self.queue)
        while self._held:
            await self.queue.put(self._held.popleft())
        await self.queue.put(item)

    async def run(self) -> None:
        """Process batches until :meth:`stop`."""
        while True:
            batch, done = await self._next_batch()
            if batch:
                await self.process(batch)
            if done:
                return

    async def _next_batch(self) -> tuple[list[Item], bool]:
        first = await self.queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self.batch_delay_s
        while len(batch) < self.batch_size:
            self._refill()
            if self.queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                item = self.queue.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        self._refill()
        return batch, False

    def _refill(self) -> None:
        while self._held and not self.queue.full():
            self.queue.put_nowait(self._held.popleft())

    async def process(self, batch: Sequence[Item]) -> None:
        """Journal the batch (durably), feed it to the tracker, hand facts to consumers.

        The journal write runs while the tracker reads the batch (in slices, so
        the write's round trips are not held up behind it); facts reach the
        consumers only once their entries are durable.
        """
        self.metrics.entries_in += len(batch)
        self.metrics.batches += 1
        entries = [e for e in map(self.filter.entry, batch) if e is not None]
        self.metrics.dropped_noise += len(batch) - len(entries)
        self.metrics.journaled += len(entries)
        journaling = (asyncio.ensure_future(self.writer.write_journal(entries))
                      if self.writer is not None else None)
        facts: list[Fact] = []
        for start in range(0, len(entries), TRACK_SLICE):
            await asyncio.sleep(0)  # the journal write (and other I/O) goes on meanwhile
            facts += self._track(entries[start:start + TRACK_SLICE])
        if journaling is not None:
            await journaling
        if self.on_committed is not None:
            self.on_committed([i[2] for i in batch], time.time())
        if facts:
            await self.fanout.dispatch(facts)

    def _track(self, entries: Sequence[JournalEntry]) -> list[Fact]:
        facts: list[Fact] = []
        for e in entries:
            try:
                facts += apply_entry(self.tracker, e.kind, e.payload, e.received_at)
            except Exception:
                self.metrics.rejected += 1
                log.exception("entry_rejected", server=self.server, event=e.event,
                              linkedid=e.linkedid)
        return facts
