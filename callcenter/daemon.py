"""The daemon: per configured server an AMI client → tracker → real-time consumers,
and the durable path (journal → store and durable consumers).

Real-time consumers (``realtime = True`` and a synchronous ``feed(facts)``:
the ring rule, the live state, the agents' feed, the call log) get facts as
they are tracked; the others (``async on_facts(facts)``: the store first,
recordings) get them after the journal write, on the durable path. Any
consumer may have ``async on_connect(server, client)`` (called after each
(re)connect, once the daemon has resynchronised) and ``use_commands(port)``
(the one :class:`~callcenter.commands.CommandPort` for AMI actions). Every
long-lived task runs under a :class:`~callcenter.supervisor.Supervisor`.
The web app reads ``daemon.pool``, ``daemon.health()`` and the live state.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from callcenter import db
from callcenter.calls.model import CallEnded, CallRecord, Fact, ServiceAlert
from callcenter.cel.filler import OutageFiller
from callcenter.commands import CommandPort
from callcenter.ha.leases import LeaseKeeper, instance_name
from callcenter.health import Instruments, readiness
from callcenter.pipeline import ServerPipeline, Tracker, feed_realtime, is_realtime
from callcenter.pipeline_durable import Consumer, DurablePath, FanOut
from callcenter.pipeline_replay import resume_open_calls
from callcenter.quietgc import QuietGC
from callcenter.settings import AmiServer, Settings
from callcenter.store.calls import CallRepository
from callcenter.store.consumer import StoreConsumer
from callcenter.store.gaps import JournalGap, Outage
from callcenter.store.journal import SeqClock
from callcenter.store.journal_partitions import maintain_forever
from callcenter.store.leases import LeaseRepository
from callcenter.store.writer import UNREACHABLE, StoreWriter
from callcenter.supervisor import Supervisor

if TYPE_CHECKING:
    from callcenter.live.sync import LiveSync

log = structlog.get_logger(__name__)

ClientFactory = Callable[..., Any]


def make_tracker(server: str, settings: Settings) -> Tracker:
    """A fresh CallTracker for ``server`` with the configured ring rules."""
    from callcenter.calls.tracker import CallTracker
    from callcenter.ringrule.policy import rule_for_settings

    tracker: Tracker = CallTracker(server, rule_for=rule_for_settings(settings))
    return tracker


def callback_consumer(settings: Settings, pool: asyncpg.Pool) -> Any:
    """The queue-callback and key-account priority service (FastAGI on loopback, the
    dispatcher of callbacks)."""
    from callcenter.callbacks.service import CallbackService
    from callcenter.store.callbacks import CallbackRepository

    return CallbackService(settings, CallbackRepository(pool),
                           servers=[s.name for s in settings.servers])


def default_consumers(settings: Settings) -> list[Consumer]:
    """The product's consumers besides the store: three-ring enforcement, recordings,
    the live state (which also receives the enforcer's and the recordings' alerts), the
    agents' feed."""
    from callcenter.agentpanel.feed import AgentFeed
    from callcenter.live import LiveConsumer
    from callcenter.recordings.consumer import RecordingConsumer
    from callcenter.ringrule.enforcer import RingEnforcer

    live = LiveConsumer.from_settings(settings)
    return [RingEnforcer.from_settings(settings, on_alert=live.on_alert),
            RecordingConsumer.from_settings(settings, on_alert=live.on_alert), live, AgentFeed()]


class CallLogger:
    """Logs one line per ended call (with its linkedid)."""

    realtime = True

    def feed(self, facts: Sequence[Fact]) -> None:
        for f in facts:
            if isinstance(f, CallEnded):
                c = f.call
                log.info("call_ended", server=c.server, linkedid=c.linkedid,
                         direction=c.direction, disposition=c.disposition, queue=c.queue,
                         agent=c.agent, caller=c.caller, reason=c.incomplete_reason)


SNAPSHOT_FIELDS = ("Channel", "ChannelState", "Uniqueid", "Linkedid", "BridgeId", "Duration",
                   "Application", "ApplicationData", "Context", "Exten", "CallerIDNum",
                   "CallerIDName", "ChanVariable")
"""The ``CoreShowChannel`` fields a resync journals (:mod:`callcenter.calls.evidence`)."""
RESUME_TIMEOUT_S = 30.0
"""How long the start may spend rebuilding the calls a previous run left open."""
SWITCH_INTERVAL_S = 0.001
"""How long a worker thread may hold the GIL while the event loop waits for it."""
STOP_BUDGET_S = 6.0
"""``stop()`` returns within about this long, whatever the database or the disk do
(``callcenter run`` keeps the rest of its 10 s for the web server and the pool)."""


class Daemon:
    """Runs the ingest of every configured server until :meth:`stop`.

    ``migrate``: the database was not reachable at start; the writer applies the
    migrations on its first connection. ``on_fatal`` is called when a task keeps
    failing (``callcenter run`` then exits non-zero).
    """

    def __init__(self, settings: Settings, pool: asyncpg.Pool, *,
                 consumers: Sequence[Any] = (), servers: Sequence[AmiServer] | None = None,
                 client_factory: ClientFactory | None = None, log_calls: bool = True,
                 migrate: bool = False, on_fatal: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.servers = list(settings.servers if servers is None else servers)
        db = settings.database
        self.writer = StoreWriter(pool, db.spool_dir, timeout_s=db.write_timeout_s,
                                  spool_max_bytes=db.spool_max_mb << 20,
                                  memory_max_bytes=db.memory_max_mb << 20, migrate=migrate)
        self.store = StoreConsumer(self.writer)
        extra: list[Any] = [CallLogger()] if log_calls else []
        self.consumers: list[Any] = [self.store, *extra, *consumers]
        self.realtime = [c for c in self.consumers if is_realtime(c)]
        self.durable: list[Consumer] = [c for c in self.consumers if not is_realtime(c)]
        self.client_factory = client_factory
        self.clients: dict[str, Any] = {}
        self.ha = _lease_keeper(settings, pool, self) if settings.ha.enabled else None
        self.commands = CommandPort(self.clients, allowed=self._may_act)
        self.instruments = Instruments()
        self.writer.commit_latency = self.instruments.journal_commit_s.observe
        self.supervisor = Supervisor(on_fatal)
        self.outages = OutageFiller(pool, settings, lambda name: make_tracker(name, settings),
                                    on_alert=self._service_alert, on_filled=self._calls_filled)
        self._journal_last: dict[str, int] = {}
        self._taken_over: set[str] = set()
        self.trackers: dict[str, Tracker] = {}
        self.pipelines: dict[str, ServerPipeline] = {}
        self.fanouts: dict[str, FanOut] = {}
        self.live_sync = _live_sync(self)
        self.gc = QuietGC([c.quiet_for for c in self.consumers if hasattr(c, "quiet_for")])
        self._loop: asyncio.AbstractEventLoop | None = None
        self.writer.database.on_change = self.writer.disk.on_change = self._store_fault
        self.writer.on_loss = self._store_loss
        for consumer in self.consumers:
            if hasattr(consumer, "use_commands"):
                consumer.use_commands(self.commands)
            if hasattr(consumer, "attach_daemon"):
                consumer.attach_daemon(self)
            if hasattr(consumer, "instruments"):
                consumer.instruments = self.instruments

    def _store_fault(self, problem: str, error: str | None) -> None:
        """A store fault began (``error``) or ended (None): tell the real-time consumers
        (the wallboard shows it) from the loop's thread."""
        alert = ServiceAlert("", datetime.now(UTC), problem,  # type: ignore[arg-type]
                             error is not None, error or "")
        if self._loop is not None:
            self._loop.call_soon_threadsafe(feed_realtime, self.realtime, [alert])

    async def _calls_filled(self, records: list[CallRecord]) -> None:
        """Calls an outage's CEL completed (the filler stored them): the other durable
        consumers hear of their end as if live (the recordings consumer files theirs)."""
        facts: list[Fact] = [CallEnded(r.server, r.ended_at or r.started_at, r) for r in records]
        for consumer in self.durable:
            if consumer is self.store:
                continue
            try:
                await consumer.on_facts(facts)
            except Exception:
                log.exception("consumer_failed_on_filled_calls", consumer=type(consumer).__name__)

    def locate(self, linkedid: str) -> tuple[str, CallRecord] | None:
        """(server, record) of the open call ``linkedid`` in any server's tracker."""
        for name, tracker in self.trackers.items():
            record = tracker.open_calls.get(linkedid)
            if record is not None:
                return name, record
        return None

    def _service_alert(self, alert: ServiceAlert) -> None:
        feed_realtime(self.realtime, [alert])

    def _store_loss(self, gap: JournalGap) -> None:
        detail = (f"{gap.server}: {gap.items} {gap.what} items not kept"
                  + (f" (journal seq {gap.first_seq}-{gap.last_seq})" if gap.first_seq else "")
                  + f": {gap.reason}")
        if self._loop is not None:
            self._loop.call_soon_threadsafe(feed_realtime, self.realtime, [
                ServiceAlert(gap.server, gap.noted_at, "store_data_dropped", True, detail)])

    async def start(self) -> None:
        """Start the writer, a pipeline per server, then connect the AMI clients; full
        garbage collections wait for moments without ring deadlines (:class:`QuietGC`)."""
        self._loop = asyncio.get_running_loop()
        # worker threads (spool encoding and file I/O) hand the GIL back to the event loop
        # within 1 ms instead of CPython's 5 ms: ring deadlines are not held up behind them
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self.gc.start()
        self.supervisor.spawn("store-spool-drainer", self.writer.drain_forever)
        self.supervisor.spawn("outage-filler", self.outages.run)
        for consumer in self.consumers:  # e.g. the callback service (FastAGI, dispatcher)
            if hasattr(consumer, "serve_forever"):
                self.supervisor.spawn(type(consumer).__name__, consumer.serve_forever)
        db_settings = self.settings.database
        self.supervisor.spawn("journal-maintenance", lambda: maintain_forever(
            self.pool, db_settings.journal_retention_months,
            db_settings.journal_retention_action))
        if self.ha is not None:  # the servers whose lease this instance takes
            self.writer.fence = self.ha.held
            self.writer.on_fenced = self._fenced
            self.supervisor.spawn("ha-leases", self.ha.run)
            for name, task in (self.live_sync.tasks() if self.live_sync else {}).items():
                self.supervisor.spawn(name, task)
            return
        for server in self.servers:
            await self._start_server(server)

    def _may_act(self, server: str) -> bool:
        """Actions on ``server`` are this instance's to send (it holds the lease)."""
        return self.ha is None or self.ha.holds(server)

    def _fenced(self, server: str) -> None:
        """Another instance owns ``server`` now (our writes were refused): stop serving it."""
        if self.ha is not None and server in self.ha.held:
            self.ha.held.pop(server, None)
        if server in self.pipelines:
            asyncio.ensure_future(self.stop_server(server, "writes fenced off"))

    async def gain_server(self, name: str, epoch: int) -> None:
        """This instance took ``name``'s lease: serve it (a takeover outage is noted at
        its first connect)."""
        server = next(s for s in self.servers if s.name == name)
        self._taken_over.add(name)
        await self._start_server(server)
        log.info("ha_serving", server=name, epoch=epoch)

    async def stop_server(self, name: str, why: str) -> None:
        """Stop serving ``name`` at once (no more actions), keeping what was received."""
        client = self.clients.pop(name, None)
        pipe = self.pipelines.pop(name, None)
        if client is not None:
            await asyncio.wait([asyncio.ensure_future(client.close())], timeout=1.0)
        if pipe is not None:
            await pipe.put_item(None)
            await self.supervisor.finish(f"pipeline-{name}", 1.0)
            if pipe.durable is not None:
                await pipe.durable.stop()
            await self.supervisor.finish(f"durable-{name}", 2.0)
        fanout = self.fanouts.pop(name, None)
        if fanout is not None:
            await asyncio.wait([asyncio.ensure_future(fanout.close())], timeout=1.0)
        self.trackers.pop(name, None)
        log.warning("ha_server_stopped", server=name, reason=why)

    async def _start_server(self, server: AmiServer) -> None:
        name = server.name
        tracker = make_tracker(name, self.settings)
        try:
            last = await asyncio.wait_for(self.writer.journal.last_seq(name),
                                          self.writer.timeout_s)
        except UNREACHABLE:  # seqs are arrival times in µs: new ones follow the stored ones
            last = 0
            log.warning("open_calls_unavailable", server=name)
        else:
            await self._resume(name, tracker)
        self._journal_last[name] = last
        db = self.settings.database
        fanout = FanOut(self.durable)
        durable = DurablePath(name, self.writer, fanout, max_entries=db.durable_queue_entries)
        pipe = ServerPipeline(name, tracker, durable, realtime=self.realtime,
                              batch_size=db.batch_size, batch_delay_s=db.batch_delay_s,
                              queue_size=db.queue_size, queue_bytes=db.queue_max_mb << 20,
                              seq_clock=SeqClock(last))
        self.supervisor.spawn(f"pipeline-{name}", pipe.run)
        self.supervisor.spawn(f"durable-{name}", durable.run)
        self.trackers[name], self.fanouts[name], self.pipelines[name] = tracker, fanout, pipe
        factory = self.client_factory or _default_client_factory()
        client = factory(server, on_event=self._on_event_for(name, pipe),
                         on_sent=pipe.submit_sent, on_connect=self._on_connect_for(name))
        self.clients[name] = client
        await client.start()
        log.info("server_started", server=name, host=server.host, port=server.port)

    async def _resume(self, name: str, tracker: Tracker) -> None:
        """Rebuild the calls a previous run left open (the first resync closes the lost
        ones); skipped by the caller when the database did not answer at once."""
        try:
            ended, entries = await asyncio.wait_for(resume_open_calls(
                self.writer.journal, CallRepository(self.pool), name, tracker,
                datetime.now(UTC)), RESUME_TIMEOUT_S)
        except UNREACHABLE:
            log.warning("open_calls_unavailable", server=name)
            return
        if ended:
            await self.writer.write_calls(ended)
        # the rings in progress reach the ring rule, which starts now (after a restart or
        # a takeover their deadlines are still enforced)
        feed_realtime(self.realtime, tracker.ringing())
        log.info("open_calls_resumed", server=name, open_calls=len(tracker.open_calls),
                 ended_while_stored_open=len(ended), journal_entries=entries)

    def _on_event_for(self, name: str, pipe: ServerPipeline) -> Callable[[Any, float], Any]:
        """The AMI client's ``on_event``: consumers that ``observe`` frames as they are
        received (the ring rule learns the PBX clock there) see each, then the pipeline."""
        observers = [c.observe for c in self.realtime if hasattr(c, "observe")]
        if not observers:
            return pipe.put_frame

        async def on_event(frame: Any, received_at: float) -> None:
            for observe in observers:
                observe(name, frame)
            await pipe.put_frame(frame, received_at)

        return on_event

    def _on_connect_for(self, name: str) -> Callable[[Any], Any]:
        async def on_connect(client: Any) -> None:
            await self.resync(name, client)

        return on_connect

    async def resync(self, name: str, client: Any) -> None:
        """After a (re)connect: note the outage it ended, close lost calls, reload queue
        members, tell consumers."""
        self._note_outage(name, client)
        try:
            await self._resync_calls(name, client)
        except Exception:
            log.exception("resync_failed", server=name)
        for consumer in self.consumers:
            hook = getattr(consumer, "on_connect", None)
            if hook is not None:
                try:
                    await hook(name, client)
                except Exception:
                    log.exception("consumer_on_connect_failed", consumer=type(consumer).__name__)

    def _note_outage(self, name: str, client: Any) -> None:
        """The stretch without events a (re)connect ends: since the previous session's last
        data (``link_down``) or, at the first connect, since the journal's last entry of a
        previous run (``daemon_down``)."""
        resumed = getattr(client, "connected_at", None) or time.time()
        last_seq = self._journal_last.pop(name, 0)  # seqs are arrival times in µs
        if getattr(client, "lost_at", None) is not None:
            kind, lost = "link_down", float(client.lost_at)
        elif last_seq:
            kind = "takeover" if name in self._taken_over else "daemon_down"
            lost = last_seq / 1e6
        else:
            return
        self.outages.note(Outage(name, kind, datetime.fromtimestamp(lost, UTC),
                                 datetime.fromtimestamp(resumed, UTC)))

    async def _resync_calls(self, name: str, client: Any) -> None:
        clock = await _pbx_clock(client)
        channels = await client.send_list_action({"Action": "CoreShowChannels"})
        if channels.response.get("Response") != "Success":
            # never close calls on a refusal (e.g. a user without the privilege)
            log.warning("resync_unavailable", server=name,
                        message=channels.response.get("Message"))
            return
        # each channel as the tracker learns from it (its state, bridge, age, variables)
        active = [{k: ev[k] for k in SNAPSHOT_FIELDS if k in ev} for ev in channels.events
                  if isinstance(ev.get("Linkedid"), str)]
        await self.pipelines[name].put("resync", clock + active, time.time())
        # QueueStatus's QueueParams/QueueMember events reach the tracker through on_event
        status = await client.send_list_action({"Action": "QueueStatus"})
        log.info("resynced", server=name, active_calls=len({c["Linkedid"] for c in active}),
                 queue_entries=len(status.events))

    async def stop(self) -> None:
        """Log off, track what is queued, write it (to the spool when PostgreSQL does not
        answer in time) and stop: within :data:`STOP_BUDGET_S`, in any state."""
        loop = asyncio.get_running_loop()
        end = loop.time() + STOP_BUDGET_S

        def until(reserve_s: float) -> float:
            """Seconds left before ``end`` minus what later steps keep for themselves."""
            return max(0.1, end - reserve_s - loop.time())

        closing = [asyncio.ensure_future(c.close()) for c in self.clients.values()]
        if closing:
            await asyncio.wait(closing, timeout=until(4.5))
        for name, pipe in self.pipelines.items():
            await pipe.put_item(None)
            await self.supervisor.finish(f"pipeline-{name}", until(3.5))
        for pipe in self.pipelines.values():
            if pipe.durable is not None:
                await pipe.durable.stop()
        for name in self.pipelines:
            if not await self.supervisor.finish(f"durable-{name}", until(2.5)):
                log.error("store_stalled_at_stop", task=f"durable-{name}")
                self.writer.abandon_database()  # the rest goes to the spool
                await self.supervisor.finish(f"durable-{name}", until(1.5))
        await _within([fanout.close() for fanout in self.fanouts.values()], until(1.8))
        await self.supervisor.stop(timeout_s=0.3)
        await self.writer.close(drain_timeout_s=until(0.9))
        if self.ha is not None:  # written what we had: the standby takes over at once,
            await _within([self.ha.release_all()], 0.3)  # not after the slow closers
        await _within([c.close() for c in self.consumers if callable(getattr(c, "close", None))],
                      until(0.0))
        self.gc.stop()
        log.info("daemon_stopped", spool_pending=self.writer.pending)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(ready, report) as ``/readyz`` gives it (:func:`callcenter.health.readiness`)."""
        return readiness(self)


async def _within(closers: Sequence[Awaitable[Any]], timeout_s: float) -> None:
    """Run ``closers`` together for at most ``timeout_s`` (those still running go on)."""
    tasks = [asyncio.ensure_future(closing) for closing in closers]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s)


async def _pbx_clock(client: Any) -> list[dict[str, Any]]:
    """The PBX's clock now, as the resync entry carries it (a ``Pong``'s ``Timestamp``):
    channel Durations and queue Waits count on it, the entry is dated on ours; [] when
    the Pong has none (timestampevents off) or did not come."""
    try:
        pong = await client.send_action({"Action": "Ping"})
    except Exception:
        log.warning("pbx_clock_unknown", exc_info=True)
        return []
    stamp = pong.get("Timestamp") if isinstance(pong, dict) else None
    return [{"Ping": "Pong", "Timestamp": stamp}] if isinstance(stamp, str) else []


def _lease_keeper(settings: Settings, pool: asyncpg.Pool, daemon: Daemon) -> LeaseKeeper:
    """The daemon's lease keeper: gaining a lease starts a server, losing it stops it."""
    async def lost(name: str, why: str) -> None:
        await daemon.stop_server(name, why)

    return LeaseKeeper(LeaseRepository(pool), instance_name(settings.ha.instance),
                       [s.name for s in settings.servers], takeover_s=settings.ha.takeover_s,
                       on_gain=daemon.gain_server, on_loss=lost)


def _live_sync(daemon: Daemon) -> LiveSync | None:
    """With leases, the live views' sync with the other instances (of the daemon's live
    consumer, when it has one)."""
    from callcenter.live import LiveConsumer
    from callcenter.live.sync import LiveSync

    live = next((c for c in daemon.consumers if isinstance(c, LiveConsumer)), None)
    if daemon.ha is None or live is None:
        return None
    database = daemon.settings.database
    return LiveSync.for_dsn(daemon.ha.instance, db.resolve_dsn(database.dsn, database.data_dir),
                            live, calls=CallRepository(daemon.pool),
                            owns=daemon.pipelines.__contains__)


def _default_client_factory() -> ClientFactory:
    from callcenter.ami.client import AMIClient

    def factory(server: AmiServer, **callbacks: Any) -> Any:
        return AMIClient.from_settings(server, **callbacks)

    return factory
