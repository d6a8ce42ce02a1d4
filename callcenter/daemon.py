"""The daemon: per configured server an AMI client → journal → tracker → consumers.

Consumers are objects with ``async on_facts(facts)`` and optionally
``async on_connect(server, client)`` (called after each (re)connect, once
the daemon has resynchronised). The store consumer is always first. The web
app reads ``daemon.pool`` and the live state ``daemon.trackers[server]``
(``open_calls``, ``agents``) or a live consumer passed in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import structlog

from callcenter.calls.model import CallEnded, Fact
from callcenter.pipeline import Consumer, FanOut, ServerPipeline, Tracker
from callcenter.quietgc import QuietGC
from callcenter.settings import AmiServer, Settings
from callcenter.store.calls import CallRepository
from callcenter.store.consumer import StoreConsumer
from callcenter.store.journal import SeqClock
from callcenter.store.writer import UNREACHABLE, StoreWriter

log = structlog.get_logger(__name__)

ClientFactory = Callable[..., Any]


def make_tracker(server: str, settings: Settings) -> Tracker:
    """A fresh CallTracker for ``server`` with the configured ring rules."""
    from callcenter.calls.tracker import CallTracker
    from callcenter.ringrule.policy import rule_for_settings

    tracker: Tracker = CallTracker(server, rule_for=rule_for_settings(settings))
    return tracker


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

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        for f in facts:
            if isinstance(f, CallEnded):
                c = f.call
                log.info("call_ended", server=c.server, linkedid=c.linkedid,
                         direction=c.direction, disposition=c.disposition, queue=c.queue,
                         agent=c.agent, caller=c.caller, reason=c.incomplete_reason)


class Daemon:
    """Runs the ingest of every configured server until :meth:`stop`."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, *,
                 consumers: Sequence[Consumer] = (), servers: Sequence[AmiServer] | None = None,
                 client_factory: ClientFactory | None = None, log_calls: bool = True) -> None:
        self.settings = settings
        self.pool = pool
        self.servers = list(settings.servers if servers is None else servers)
        db = settings.database
        self.writer = StoreWriter(pool, db.spool_dir, timeout_s=db.write_timeout_s)
        self.store = StoreConsumer(self.writer)
        extra: list[Consumer] = [CallLogger()] if log_calls else []
        self.consumers: list[Consumer] = [self.store, *extra, *consumers]
        self.client_factory = client_factory
        self.trackers: dict[str, Tracker] = {}
        self.pipelines: dict[str, ServerPipeline] = {}
        self.fanouts: dict[str, FanOut] = {}
        self.clients: dict[str, Any] = {}
        self.gc = QuietGC([c.quiet_for for c in self.consumers if hasattr(c, "quiet_for")])

    async def start(self) -> None:
        """Start the writer, a pipeline per server, then connect the AMI clients; full
        garbage collections wait for moments without ring deadlines (:class:`QuietGC`)."""
        self.gc.start()
        await self.writer.start()
        for server in self.servers:
            await self._start_server(server)

    async def _start_server(self, server: AmiServer) -> None:
        name = server.name
        try:
            last = await self.writer.journal.last_seq(name)
        except UNREACHABLE:
            last = 0
        tracker = make_tracker(name, self.settings)
        try:  # calls a previous run left open: the first resync closes the lost ones
            tracker.adopt(await CallRepository(self.pool).open_calls(name))
        except UNREACHABLE:
            log.warning("open_calls_unavailable", server=name)
        db = self.settings.database
        fanout = FanOut(self.consumers)
        pipe = ServerPipeline(name, tracker, self.writer, fanout, batch_size=db.batch_size,
                              batch_delay_s=db.batch_delay_s, queue_size=db.queue_size,
                              seq_clock=SeqClock(last))
        pipe.start()
        self.trackers[name], self.fanouts[name], self.pipelines[name] = tracker, fanout, pipe
        factory = self.client_factory or _default_client_factory()
        client = factory(server, on_event=pipe.put_frame, on_sent=pipe.submit_sent,
                         on_connect=self._on_connect_for(name))
        self.clients[name] = client
        await client.start()
        log.info("server_started", server=name, host=server.host, port=server.port)

    def _on_connect_for(self, name: str) -> Callable[[Any], Any]:
        async def on_connect(client: Any) -> None:
            await self.resync(name, client)

        return on_connect

    async def resync(self, name: str, client: Any) -> None:
        """After a (re)connect: close lost calls, reload queue members, tell consumers."""
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

    async def _resync_calls(self, name: str, client: Any) -> None:
        channels = await client.send_list_action({"Action": "CoreShowChannels"})
        if channels.response.get("Response") != "Success":
            # never close calls on a refusal (e.g. a user without the privilege)
            log.warning("resync_unavailable", server=name,
                        message=channels.response.get("Message"))
            return
        active = sorted({str(ev["Linkedid"]) for ev in channels.events
                         if isinstance(ev.get("Linkedid"), str)})
        await self.pipelines[name].put("resync", active, time.time())
        # QueueStatus's QueueParams/QueueMember events reach the tracker through on_event
        status = await client.send_list_action({"Action": "QueueStatus"})
        log.info("resynced", server=name, active_calls=len(active),
                 queue_entries=len(status.events))

    async def stop(self) -> None:
        """Log off every server, finish what is queued, flush the store."""
        for client in self.clients.values():
            try:
                await asyncio.wait_for(client.close(), 5)
            except Exception:  # a dead link must not block shutdown
                log.exception("client_close_failed")
        for name, pipe in self.pipelines.items():
            await pipe.stop()
            await self.fanouts[name].close()
        for consumer in self.consumers:
            close = getattr(consumer, "close", None)
            if close is not None:
                await close()
        await self.writer.close()
        self.gc.stop()
        log.info("daemon_stopped", spool_pending=self.writer.pending)

    def metrics(self) -> dict[str, Any]:
        """Counters per server: entries, noise dropped, queue depth and fullness."""
        out: dict[str, Any] = {}
        for name, pipe in self.pipelines.items():
            qm = [pipe.queue_metrics, *self.fanouts[name].metrics]
            out[name] = {**vars(pipe.metrics),
                         "queues": {m.name: {"max_depth": m.max_depth,
                                             "full_events": m.full_events} for m in qm}}
        out["spool_pending"] = self.writer.pending
        return out


def _default_client_factory() -> ClientFactory:
    from callcenter.ami.client import AMIClient

    def factory(server: AmiServer, **callbacks: Any) -> Any:
        return AMIClient.from_settings(server, **callbacks)

    return factory
