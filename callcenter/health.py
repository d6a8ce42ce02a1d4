"""The daemon's health: readiness per server (``/readyz``) and Prometheus metrics.

:class:`Instruments` are the few figures components update as they go
(histograms of journal commit latency and enforcement lateness); everything
else is read from the running components when asked: :func:`readiness` for
``/readyz`` and :class:`DaemonCollector` for ``/metrics``. Nothing here
touches the database.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from callcenter.daemon import Daemon

STALE_EVENT_S = 300.0
"""Informational: a server silent this long is shown as such (a quiet PBX at night is
normal, so it does not make the service unready; the AMI link state does)."""


class Histogram:
    """A cumulative histogram of seconds (Prometheus buckets), without locks."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = sorted(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum = 0.0
        self.last: float | None = None

    def observe(self, seconds: float) -> None:
        """Count one observation of ``seconds``."""
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.sum += seconds
        self.last = seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        """The Prometheus form (cumulative buckets, ``+Inf`` last)."""
        cumulative, running = [], 0
        for bound, n in zip([*map(str, self.buckets), "+Inf"], self.counts, strict=True):
            running += n
            cumulative.append((bound, running))
        return HistogramMetricFamily(name, doc, buckets=cumulative, sum_value=self.sum)


class Instruments:
    """Figures updated as they happen."""

    def __init__(self) -> None:
        self.journal_commit_s = Histogram(
            [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        """Seconds of each journal write to PostgreSQL."""
        self.enforcement_late_s = Histogram(
            [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
        """Seconds between a ring deadline and the enforcement action leaving."""


def _age(at: float | None, now: float) -> float | None:
    return None if at is None else round(max(0.0, now - at), 3)


def server_health(daemon: Daemon, name: str, now: float) -> dict[str, Any]:
    """One server's figures for ``/readyz``."""
    pipe = daemon.pipelines[name]
    client = daemon.clients.get(name)
    durable = pipe.durable
    error = getattr(client, "last_error", None)
    tracker = daemon.trackers.get(name)
    timestamps = getattr(tracker, "timestamps", None)
    surveys = getattr(tracker, "surveys", None)
    return {
        "ami_connected": bool(getattr(client, "connected", False)),
        "ami_state": getattr(client, "state", None),
        "ami_error": None if error is None else str(error),
        "ami_frames_dropped": getattr(client, "dropped_frames", 0),
        "timestamps_refused": getattr(timestamps, "refused", 0),
        "last_event_age_s": _age(pipe.last_entry_at, now),
        "journal_lag_s": _age(durable.oldest_waiting_at if durable else None, now) or 0.0,
        "ingest_queue": pipe.queue.qsize(),
        "durable_queue_entries": durable.queued_entries if durable else 0,
        "durable_dropped_batches": durable.dropped_batches if durable else 0,
        "consumer_backlogs": {m.name: q.qsize() for m, q in zip(
            daemon.fanouts[name].metrics, daemon.fanouts[name].queues, strict=True)},
        "consumer_dropped_batches": {m.name: m.dropped_batches
                                     for m in daemon.fanouts[name].metrics},
        "entries_in": pipe.metrics.entries_in,
        **{f"surveys_{kind}": getattr(surveys, kind, 0)
           for kind in ("offered", "answered", "invalid")},
    }


def readiness(daemon: Daemon) -> tuple[bool, dict[str, Any]]:
    """(ready, report): ready when every AMI link is up, writes reach PostgreSQL, nothing
    was dropped and no task failed for good."""
    now = time.time()
    servers = {name: server_health(daemon, name, now) for name in daemon.pipelines}
    store = daemon.writer.health()
    tasks = daemon.supervisor.health()
    late = daemon.instruments.enforcement_late_s.last
    problems = [f"{name}: AMI link down" + (" (login rejected)" if s["ami_state"] ==
                                            "login_rejected" else "")
                for name, s in servers.items() if not s["ami_connected"]]
    if store["database"] != "ok":
        problems.append("database unreachable: writes go to the spool")
    if store["spool_error"]:
        problems.append(f"spool failing: {store['spool_error']}")
    if any(store["lost"].values()):
        problems.append("data dropped (see store.gaps)")
    problems += [f"task {name} failed" for name, t in tasks.items() if not t["running"]]
    outages = outage_health(daemon)
    if daemon.ha is not None and not daemon.ha.database_ok:
        problems.append("leases cannot be renewed: the database is unreachable")
    sync = daemon.live_sync.health() if daemon.live_sync is not None else None
    if sync is not None and not sync["listening"] and sync["connects"]:
        problems.append("live views stale: not listening to the other instances")
    callbacks = callback_health(daemon)
    if callbacks is not None and callbacks["enabled"] and not callbacks["listening"]:
        problems.append("FastAGI not listening: callers get no priority and no callback offer")
    if outages["fill_error"]:
        problems.append(f"outage not completed from CEL: {outages['fill_error']}")
    report = {
        "ready": not problems, "problems": problems, "servers": servers, "store": store,
        "tasks": tasks, "last_enforcement_late_ms": None if late is None else round(late * 1e3, 1),
        "sse_clients": sse_clients(daemon), "outages": outages, "ha": ha_health(daemon),
        "live_sync": sync, "callbacks": callbacks,
    }
    return not problems, report


def ha_health(daemon: Daemon) -> dict[str, Any] | None:
    """Active/standby: this instance and the PBXs it serves (their lease epochs)."""
    if daemon.ha is None:
        return None
    return {"instance": daemon.ha.instance, "serving": dict(daemon.ha.held),
            "database_ok": daemon.ha.database_ok}


def outage_health(daemon: Daemon) -> dict[str, Any]:
    """The outages not completed from CEL yet, and why (``fill_error``: the last attempt
    failed: no CEL table, or no row written)."""
    h = daemon.outages.health
    return {"recorded": h.recorded, "filled": h.filled, "calls_filled": h.calls_filled,
            "unfilled": [o.as_dict() for o in h.unfilled],
            "fill_error": next(iter(h.errors.values()), None)}


def callback_health(daemon: Daemon) -> dict[str, Any] | None:
    """The callback service's FastAGI and dispatcher figures (None without the service)."""
    service = next((c for c in daemon.consumers if hasattr(c, "agi")), None)
    return None if service is None else service.health()


def sse_clients(daemon: Daemon) -> int:
    """Browsers connected to the live views (wallboard and agents' feed)."""
    return sum(getattr(c, "streams", 0) for c in daemon.realtime)


class DaemonCollector(Collector):
    """Reads the daemon's figures at each scrape (``callcenter_*`` metrics)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self) -> Iterator[Metric]:
        d = self.daemon
        now = time.time()
        per_server: dict[str, tuple[str, str, type[GaugeMetricFamily | CounterMetricFamily]]] = {
            "entries_in": ("callcenter_events_in", "AMI entries ingested.", CounterMetricFamily),
            "ami_connected": ("callcenter_ami_connected", "1 when the AMI link is up.",
                              GaugeMetricFamily),
            "last_event_age_s": ("callcenter_last_event_age_seconds",
                                 "Seconds since the last AMI entry.", GaugeMetricFamily),
            "journal_lag_s": ("callcenter_journal_lag_seconds",
                              "Age of the oldest entry not yet journaled.", GaugeMetricFamily),
            "ingest_queue": ("callcenter_ingest_queue_depth", "Entries waiting to be tracked.",
                             GaugeMetricFamily),
            "durable_queue_entries": ("callcenter_durable_queue_depth",
                                      "Entries waiting for the journal write.",
                                      GaugeMetricFamily),
            "ami_frames_dropped": ("callcenter_ami_frames_dropped",
                                   "AMI frames dropped whole (over a size or key bound).",
                                   CounterMetricFamily),
            "timestamps_refused": ("callcenter_timestamps_refused",
                                   "Event Timestamps not believed (arrival time used).",
                                   CounterMetricFamily),
            "surveys_offered": ("callcenter_surveys_offered",
                                "Post-call surveys run (their UserEvent arrived).",
                                CounterMetricFamily),
            "surveys_answered": ("callcenter_surveys_answered",
                                 "Post-call surveys answered with a score 1-5.",
                                 CounterMetricFamily),
            "surveys_invalid": ("callcenter_surveys_invalid",
                                "Post-call surveys whose Score was neither empty nor 1-5.",
                                CounterMetricFamily),
        }
        healths = {name: server_health(d, name, now) for name in d.pipelines}
        for key, (metric, doc, kind) in per_server.items():
            family = kind(metric, doc, labels=["server"])
            for name, h in healths.items():
                if h[key] is not None:
                    family.add_metric([name], float(h[key]))
            yield family
        backlog = GaugeMetricFamily("callcenter_consumer_backlog",
                                    "Fact batches waiting for a durable consumer.",
                                    labels=["server", "consumer"])
        for name, h in healths.items():
            for consumer, depth in h["consumer_backlogs"].items():
                backlog.add_metric([name, consumer.removeprefix("consumer:")], depth)
        yield backlog
        yield from self._store()
        actions = CounterMetricFamily("callcenter_actions", "AMI actions sent, by result.",
                                      labels=["action", "result"])
        for (action, status), n in sorted(d.commands.results.items()):
            actions.add_metric([action, status], n)
        yield actions
        yield d.instruments.journal_commit_s.family(
            "callcenter_journal_commit_seconds", "Journal writes to PostgreSQL.")
        yield d.instruments.enforcement_late_s.family(
            "callcenter_enforcement_lateness_seconds",
            "Time from a ring deadline to its enforcement action.")
        yield GaugeMetricFamily("callcenter_sse_clients", "Browsers on the live views.",
                                value=sse_clients(d))
        yield from self._outages()
        yield from self._live_sync()
        yield from self._callbacks()

    def _callbacks(self) -> Iterator[Metric]:
        h = callback_health(self.daemon)
        if h is None:
            return
        requests = CounterMetricFamily("callcenter_fastagi_requests",
                                       "FastAGI requests by script and outcome (ok, default:"
                                       " the safe default after a failure, refused).",
                                       labels=["script", "outcome"])
        for key, n in h["requests"].items():
            requests.add_metric(key.split(":", 1), n)
        yield requests
        yield GaugeMetricFamily("callcenter_fastagi_listening", "1 while FastAGI listens.",
                                value=int(h["listening"]))
        yield CounterMetricFamily("callcenter_callbacks_placed", "Callbacks originated.",
                                  value=h["placed"])
        yield CounterMetricFamily("callcenter_callbacks_not_placed",
                                  "Callback Originates refused.", value=h["failed_dispatches"])

    def _live_sync(self) -> Iterator[Metric]:
        sync = self.daemon.live_sync
        if sync is None:
            return
        h = sync.health()
        yield GaugeMetricFamily("callcenter_live_sync_listening",
                                "1 while the live facts of other instances arrive.",
                                value=int(h["listening"]))
        yield GaugeMetricFamily("callcenter_live_sync_queue_depth",
                                "Live facts waiting to be published.", value=h["queued"])
        yield CounterMetricFamily("callcenter_live_sync_published",
                                  "Live-sync notifications sent.", value=h["published"])
        yield CounterMetricFamily("callcenter_live_sync_received",
                                  "Live-sync notifications received from other instances.",
                                  value=h["received"])
        yield CounterMetricFamily("callcenter_live_sync_dropped",
                                  "Live facts never published (queue full or too long).",
                                  value=h["dropped"])

    def _outages(self) -> Iterator[Metric]:
        h = self.daemon.outages.health
        yield CounterMetricFamily("callcenter_outages", "Outages (no AMI events) noted.",
                                  value=h.recorded)
        yield CounterMetricFamily("callcenter_outages_filled",
                                  "Outages whose calls were completed from CEL.", value=h.filled)
        yield CounterMetricFamily("callcenter_outage_calls_filled",
                                  "Calls completed from CEL.", value=h.calls_filled)
        yield CounterMetricFamily("callcenter_outage_fill_failures",
                                  "Attempts to complete an outage that failed.",
                                  value=h.failures)
        unfilled = GaugeMetricFamily("callcenter_outages_unfilled",
                                     "Outages not completed from CEL yet.", labels=["server"])
        counts: dict[str, int] = {}
        for o in h.unfilled:
            counts[o.server] = counts.get(o.server, 0) + 1
        for server, n in sorted(counts.items()):
            unfilled.add_metric([server], n)
        yield unfilled

    def _store(self) -> Iterator[Metric]:
        w = self.daemon.writer
        yield GaugeMetricFamily("callcenter_spool_bytes", "Bytes waiting in the spool.",
                                value=w.spool.bytes)
        yield GaugeMetricFamily("callcenter_spool_ops", "Operations waiting in the spool.",
                                value=w.spool.depth)
        yield GaugeMetricFamily("callcenter_store_held_bytes",
                                "Bytes held in memory (database and spool both failing).",
                                value=w.held_bytes)
        yield GaugeMetricFamily("callcenter_database_up", "1 when writes reach PostgreSQL.",
                                value=0 if w.database.error else 1)
        yield GaugeMetricFamily("callcenter_spool_healthy", "0 while the spool's disk fails.",
                                value=0 if w.disk.error else 1)
        lost = CounterMetricFamily("callcenter_store_lost", "Items dropped (journal gaps).",
                                   labels=["what"])
        for what, n in w.lost_items.items():
            lost.add_metric([what], n)
        yield lost
