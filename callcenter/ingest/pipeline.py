"""One server's ingest pipeline: entries → tracker → real-time consumers, and the durable path.

The real-time path (:class:`ServerPipeline`) feeds each batch to the tracker as
it arrives and hands the facts at once to the real-time consumers (three-ring
enforcement, live state, agents' feed): it never awaits a database write, the
spool or a slower consumer. The durable path (:class:`DurablePath`) has its own
bounded queue: it journals the entries, then hands the facts to the durable
consumers (call records and agent states, recordings). A stalled store delays
only the durable path; when its queue is full, a batch is dropped from it and
recorded as a journal gap (exactly which sequence range), never waited for.

The same code runs live (the daemon feeds AMI frames, sent actions and resync
markers), on a replayed capture (``callcenter replay``) and, without the
journal stage, on ``callcenter rebuild``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog

from callcenter.calls.model import CallRecord, Fact
from callcenter.ingest.journal_policy import is_journaled, is_journaled_action, scrub_action
from callcenter.ingest.pipeline_durable import DurablePath, QueueMetrics
from callcenter.store.journal import EntryKind, JournalEntry, SeqClock

if TYPE_CHECKING:
    from typing_extensions import TypeIs

log = structlog.get_logger(__name__)


@runtime_checkable
class RealtimeConsumer(Protocol):
    """A real-time consumer (ring rule, live state, agents' feed): ``feed`` takes facts
    synchronously, does no I/O and never waits. Marked by ``realtime = True``."""

    realtime: bool

    def feed(self, facts: Sequence[Fact]) -> None: ...


def frame_size(frame: Any) -> int:
    """About how many bytes ``frame`` holds (its keys and text values; a few per other
    value): what bounds the ingest queue in bytes."""
    if not isinstance(frame, dict):
        return 64
    return sum(len(k) + (len(v) if isinstance(v, str) else 64) for k, v in frame.items())


def feed_realtime(consumers: Sequence[RealtimeConsumer], facts: Sequence[Fact],
                  server: str = "") -> int:
    """Give ``facts`` to each real-time consumer; one that raises is logged and the others
    still get them. Returns how many raised."""
    errors = 0
    for consumer in consumers:
        try:
            consumer.feed(facts)
        except Exception:
            errors += 1
            log.exception("realtime_consumer_failed", consumer=type(consumer).__name__,
                          server=server)
    return errors


def is_realtime(consumer: object) -> TypeIs[RealtimeConsumer]:
    """True for a consumer that belongs on the real-time path."""
    return getattr(consumer, "realtime", False) is True and callable(
        getattr(consumer, "feed", None))


class Tracker(Protocol):
    """What the pipeline needs of ``callcenter.calls.tracker.CallTracker``."""

    def feed(self, frame: dict[str, Any], received_at: float) -> list[Fact]: ...
    def feed_sent(self, action: dict[str, Any], sent_at: float) -> list[Fact]: ...
    def resync(self, active: Iterable[str | Mapping[str, Any]], at: datetime) -> list[Fact]: ...
    def adopt(self, records: list[CallRecord]) -> None: ...
    def ringing(self) -> list[Fact]: ...

    @property
    def open_calls(self) -> dict[str, CallRecord]: ...


def apply_entry(tracker: Tracker, kind: EntryKind, payload: Any, at: float) -> list[Fact]:
    """Feed one journal entry to ``tracker``; the facts it learned."""
    if kind == "frame":
        return tracker.feed(payload, at)
    if kind == "sent":
        return tracker.feed_sent(payload, at)
    return tracker.resync(payload, datetime.fromtimestamp(at, UTC))


@dataclass
class PipelineMetrics:
    """Counters of one server's pipeline."""

    entries_in: int = 0
    journaled: int = 0
    dropped_noise: int = 0
    rejected: int = 0
    batches: int = 0
    consumer_errors: int = 0


Item = tuple[EntryKind, Any, float]
Sized = tuple[Item, int]
"""An item in the ingest queue with the bytes it counts for (:func:`frame_size`)."""
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
    """Track the entries of one server in order; facts go to the real-time consumers at
    once and, with the entries, to the :class:`DurablePath` (journal, then the rest).

    ``put_frame``/``put`` (async) wait for room in the bounded ingest queue: the AMI
    client awaits ``on_event``, so a full queue stops it reading the socket
    (back-pressure; this stage only uses the CPU). ``submit_sent`` (sync, for
    ``on_sent``) never waits: a sent action finding the queue full is held aside,
    in order, until there is room. ``run`` processes batches of up to
    ``batch_size`` entries, waiting at most ``batch_delay_s`` seconds to fill one.
    """

    def __init__(self, server: str, tracker: Tracker, durable: DurablePath | None, *,
                 realtime: Sequence[RealtimeConsumer] = (), batch_size: int = 500,
                 batch_delay_s: float = 0.05, queue_size: int = 2000,
                 queue_bytes: int = 64 << 20, seq_clock: SeqClock | None = None) -> None:
        self.server = server
        self.tracker = tracker
        self.durable = durable
        self.realtime = list(realtime)
        self.batch_size = batch_size
        self.batch_delay_s = batch_delay_s
        self.queue: asyncio.Queue[Sized | None] = asyncio.Queue(queue_size)
        self.queue_bytes = queue_bytes
        self.queued_bytes = 0
        """Approximate bytes of the frames waiting in the queue (:func:`frame_size`)."""
        self._room = asyncio.Event()
        self.clock = seq_clock or SeqClock()
        self.metrics = PipelineMetrics()
        self.queue_metrics = QueueMetrics(f"ingest:{server}")
        self.last_entry_at: float | None = None
        """Receive time (Unix seconds) of the newest entry processed."""
        self._held: deque[Sized] = deque()
        self.filter = JournalFilter(server, self.clock)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start processing (and the durable path) in tasks of their own."""
        self._tasks = [asyncio.create_task(self.run(), name=f"pipeline-{self.server}")]
        if self.durable is not None:
            self._tasks.append(asyncio.create_task(self.durable.run(),
                                                   name=f"durable-{self.server}"))

    async def stop(self) -> None:
        """Process everything queued, then let the durable path finish, then stop."""
        await self.put_item(None)
        if self._tasks:
            await self._tasks[0]
        if self.durable is not None:
            await self.durable.stop()
            await asyncio.gather(*self._tasks[1:])

    async def put_frame(self, frame: dict[str, Any], received_at: float) -> None:
        """Enqueue an AMI frame, waiting for room (AMIClient ``on_event``): in frames
        (``queue_size``) and in bytes (``queue_bytes``)."""
        size = frame_size(frame)
        while self.queued_bytes and self.queued_bytes + size > self.queue_bytes:
            self.queue_metrics.bytes_full_events += 1
            self._room.clear()
            await self._room.wait()
        self.queued_bytes += size
        await self.put_item(("frame", frame, received_at), size)

    def submit_sent(self, action: dict[str, Any], sent_at: float) -> None:
        """Enqueue an action we sent, without waiting (AMIClient ``on_sent``)."""
        item: Sized = (("sent", dict(action), sent_at), 0)
        self.queue_metrics.saw(self.queue)
        if self._held or self.queue.full():
            self._held.append(item)
        else:
            self.queue.put_nowait(item)

    async def put(self, kind: EntryKind, payload: Any, received_at: float) -> None:
        """Enqueue an entry, waiting while the queue is full."""
        await self.put_item((kind, payload, received_at))

    async def put_item(self, item: Item | None, size: int = 0) -> None:
        """Enqueue an item (None: stop after what is queued) of ``size`` bytes counted in
        ``queued_bytes``, waiting for room."""
        if item is not None:
            self.queue_metrics.saw(self.queue)
        while self._held:
            await self.queue.put(self._held.popleft())
        await self.queue.put(None if item is None else (item, size))

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
        batch = [self._taken(first)]
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
            batch.append(self._taken(item))
        self._refill()
        return batch, False

    def _taken(self, queued: Sized) -> Item:
        item, size = queued
        if size:
            self.queued_bytes -= size
            self._room.set()
        return item

    def _refill(self) -> None:
        while self._held and not self.queue.full():
            self.queue.put_nowait(self._held.popleft())

    async def process(self, batch: Sequence[Item]) -> None:
        """Track the batch in slices, handing each slice's facts to the real-time consumers
        at once; then give entries and facts to the durable path (never waiting for it)."""
        self.metrics.entries_in += len(batch)
        self.metrics.batches += 1
        self.last_entry_at = batch[-1][2]
        entries = [e for e in map(self.filter.entry, batch) if e is not None]
        self.metrics.dropped_noise += len(batch) - len(entries)
        self.metrics.journaled += len(entries)
        facts: list[Fact] = []
        for start in range(0, len(entries), TRACK_SLICE):
            if start:
                await asyncio.sleep(0)  # timers and other I/O go on between slices
            new = self._track(entries[start:start + TRACK_SLICE])
            if new:
                self.metrics.consumer_errors += feed_realtime(self.realtime, new, self.server)
                facts += new
        if self.durable is not None:
            self.durable.submit(entries, facts, [i[2] for i in batch])

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
