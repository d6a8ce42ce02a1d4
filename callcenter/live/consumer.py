"""The live-state consumer of the daemon, and the fan-out of its updates to browsers.

``LiveConsumer.on_facts`` folds facts into :class:`LiveState`; supervisor
alerts come through ``on_alert`` (the RingEnforcer's and the
RecordingConsumer's hook); ``taps`` see both (the live sync publishes them), while
``feed_remote`` folds in what another instance published. Every change wakes
one broadcaster task, which publishes at once unless it published less than
``min_interval_s`` ago (then it waits: a burst of events gives one update, and
at most one update per interval goes out), renders the snapshot once per kind
of viewer and hands it to every subscriber (a queue of one: a slow browser gets
the latest board, never a backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, time, timedelta
from typing import Any, Protocol

import asyncpg
import structlog

from callcenter.calls.alerts import RecordingAlert, SupervisorAlert
from callcenter.calls.model import CallRecord, Fact
from callcenter.kpis import ServiceLevelRules
from callcenter.live.state import Clock, LiveState, utcnow
from callcenter.settings import Settings

log = structlog.get_logger(__name__)

Render = Callable[[LiveState], Any]
"""Turns the state into what one kind of viewer receives (e.g. masked, translated HTML)."""


class CallSource(Protocol):
    async def list_calls(self, *, limit: int | None = ..., since: datetime | None = ...,
                         server: str | None = ..., newest_first: bool = ...
                         ) -> list[CallRecord]: ...


class Subscriber:
    """One connected viewer: the latest payload for its kind, ``None`` when closing."""

    def __init__(self, kind: Hashable, render: Render) -> None:
        self.kind = kind
        self.render = render
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    def offer(self, payload: Any) -> None:
        """Replace whatever is waiting with ``payload``."""
        with contextlib.suppress(asyncio.QueueEmpty):
            self.queue.get_nowait()
        self.queue.put_nowait(payload)


class LiveConsumer:
    """Daemon consumer holding the live state and pushing changes to subscribers."""

    def __init__(self, state: LiveState, *, min_interval_s: float = 0.05) -> None:
        self.state = state
        self.min_interval_s = min_interval_s
        self.subscribers: set[Subscriber] = set()
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.seeded = False
        self.taps: list[Callable[[Sequence[Fact]], None]] = []
        """Called with every fact (and alert) of this instance, before it is folded in."""

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utcnow) -> LiveConsumer:
        """A consumer with the metric thresholds and time zone of ``settings``."""
        return cls(LiveState(ServiceLevelRules.from_settings(settings), settings.web.timezone,
                             clock))

    realtime = True
    """On the daemon's real-time path: fed as facts arrive, never waiting for storage."""

    def feed(self, facts: Sequence[Fact]) -> None:
        """Fold ``facts`` into the live state; wake the broadcaster when it changed."""
        for tap in self.taps:
            tap(facts)
        self.feed_remote(facts)

    def feed_remote(self, facts: Sequence[Fact]) -> None:
        """Fold facts another instance published (not tapped: never published again)."""
        if self.state.apply(facts):
            self._changed()

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        """:meth:`feed`, for callers that await."""
        self.feed(facts)

    def on_alert(self, alert: SupervisorAlert | RecordingAlert) -> None:
        """Hook for ``RingEnforcer.on_alert`` and ``RecordingConsumer.on_alert``."""
        self.feed([alert])

    async def seed(self, calls: CallSource, *, again: bool = False) -> None:
        """Count today's calls already stored (after a restart), once it has worked;
        ``again``: count those not counted yet once more (the live sync's reconnect)."""
        if self.seeded and not again:
            return
        midnight = datetime.combine(self.state.day, time(0), tzinfo=self.state.zone)
        since = midnight - timedelta(hours=1)  # calls are filtered by their local day
        stored = await calls.list_calls(limit=None, since=since, newest_first=False)
        if self.seeded and not again:
            return
        self.seeded = True
        self.state.seed(stored)
        log.info("live_seeded", calls=len(stored), day=self.state.day.isoformat())
        self._changed()

    async def seed_when_possible(self, calls: CallSource, *, retry_s: float = 5.0,
                                 timeout_s: float = 10.0) -> None:
        """:meth:`seed`, retried every ``retry_s`` while the database cannot answer (the
        board runs from live facts meanwhile)."""
        while not self.seeded:
            try:
                async with asyncio.timeout(timeout_s):
                    await self.seed(calls)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live_seed_waiting", error=repr(exc), retry_s=retry_s)
                await asyncio.sleep(retry_s)

    def _changed(self) -> None:
        self._dirty.set()

    def subscribe(self, kind: Hashable, render: Render) -> Subscriber:
        """A new subscriber, given the current board at once."""
        sub = Subscriber(kind, render)
        sub.offer(render(self.state))
        self.subscribers.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._broadcast(), name="live-broadcast")
        return sub

    @property
    def streams(self) -> int:
        """Browsers connected to the board."""
        return len(self.subscribers)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def _broadcast(self) -> None:
        loop = asyncio.get_running_loop()
        last = -self.min_interval_s
        while True:
            await self._dirty.wait()
            wait = last + self.min_interval_s - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._dirty.clear()
            last = loop.time()
            try:
                self.publish()
            except Exception:  # one bad render must not end live updates for everyone
                log.exception("live_publish_failed")

    def publish(self) -> None:
        """Render the board once per kind of viewer and offer it to every subscriber."""
        rendered: dict[Hashable, Any] = {}
        for sub in list(self.subscribers):
            if sub.kind not in rendered:
                try:
                    rendered[sub.kind] = sub.render(self.state)
                except Exception:
                    log.exception("live_render_failed", kind=str(sub.kind))
                    continue
            sub.offer(rendered[sub.kind])

    def close_subscribers(self) -> None:
        """Tell every subscriber to finish (its queue receives None)."""
        for sub in list(self.subscribers):
            sub.offer(None)
        self.subscribers.clear()

    async def close(self) -> None:
        """Stop the broadcaster and release the subscribers."""
        self.close_subscribers()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
