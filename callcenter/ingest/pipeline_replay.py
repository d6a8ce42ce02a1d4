"""Replaying a capture file through the pipeline, and rebuilding from the journal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import structlog

from callcenter.calls.model import AgentStateChanged, CallEnded, CallRecord, CallWithdrawn, Fact
from callcenter.ingest.cel.merge import OutageCel, with_outages
from callcenter.ingest.cel.source import outages_with_cel
from callcenter.ingest.pipeline import (
    Item,
    RealtimeConsumer,
    ServerPipeline,
    Tracker,
    apply_entry,
    is_realtime,
)
from callcenter.ingest.pipeline_durable import Consumer, DurablePath, FanOut
from callcenter.store.calls import CallRepository
from callcenter.store.consumer import calls_in
from callcenter.store.journal import JournalRepository
from callcenter.store.journal_partitions import JournalPartitions, seq_of, time_of
from callcenter.store.writer import StoreWriter

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]


class CaptureError(ValueError):
    """A capture file that cannot be read; the message names the file and line."""


def read_capture(path: str | Path) -> Iterator[Item]:
    """The entries of a capture (``{"t", "frame"}`` / ``{"t", "sent"}`` lines) in order.

    Banner and eof lines are skipped. Raises :class:`CaptureError` on a
    missing file, a line that is not JSON, or an entry without its time.
    """
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise CaptureError(f"{p}: cannot open ({exc.strerror})") from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CaptureError(f"{p}:{n}: not a JSON line ({exc})") from None
            if not isinstance(obj, dict):
                raise CaptureError(f"{p}:{n}: expected a JSON object")
            for kind in ("frame", "sent"):
                if kind in obj:
                    body, t = obj[kind], obj.get("t")
                    if not isinstance(body, dict) or not isinstance(t, int | float):
                        raise CaptureError(f"{p}:{n}: '{kind}' needs an object and a number 't'")
                    yield kind, body, float(t)


def capture_server_name(items: Iterable[Item], default: str = "replay") -> str:
    """The capture's ``SystemName`` (the first event that has one), else ``default``."""
    for kind, body, _ in items:
        name = body.get("SystemName") if kind == "frame" else None
        if isinstance(name, str) and name:
            return name
    return default


async def ingest_items(items: Sequence[Item], server: str, tracker: Tracker,
                       writer: StoreWriter | None,
                       consumers: Sequence[Consumer | RealtimeConsumer], *,
                       batch_size: int = 500, progress: Progress | None = None) -> None:
    """Ingest a capture's entries (:func:`read_capture`) as if live, at full speed."""
    fanout = FanOut([c for c in consumers if not is_realtime(c)])
    durable = DurablePath(server, writer, fanout, max_entries=max(len(items), 100))
    pipe = ServerPipeline(server, tracker, durable, batch_size=batch_size, batch_delay_s=0,
                          realtime=[c for c in consumers if is_realtime(c)])
    pipe.start()
    for n, item in enumerate(items, 1):
        await pipe.put_item(item)
        if progress is not None and (n % 1000 == 0 or n == len(items)):
            progress(n, len(items))
    await pipe.stop()
    await fanout.close()


class Replay:
    """The journal of ``server`` from ``from_seq``, each outage's CEL in its place, fed to
    ``tracker``: the changed calls and agent state facts in bounded batches
    (:meth:`batches`), so a month's replay holds one batch, not the month."""

    def __init__(self, journal: JournalRepository, server: str, tracker: Tracker,
                 from_seq: int = 0, outages: Sequence[OutageCel] = ()) -> None:
        self.journal, self.server, self.tracker = journal, server, tracker
        self.from_seq, self.outages = from_seq, outages
        self.entries = 0
        """Entries read so far."""
        self.withdrawn: set[str] = set()
        """Calls the tracker took back (a supervisor's spy leg first taken for a call)."""

    async def batches(self, size: int = 1000
                      ) -> AsyncIterator[tuple[list[CallRecord], list[AgentStateChanged]]]:
        """Every ``size`` calls changed: those calls (latest state each; a call comes again
        in a later batch when it changes again) and the agent state facts, in order."""
        calls: dict[str, CallRecord] = {}
        states: list[AgentStateChanged] = []
        entries = with_outages(self.journal.items(self.server, self.from_seq), self.outages)
        async for kind, payload, at in entries:
            self.entries += 1
            try:
                facts: list[Fact] = apply_entry(self.tracker, kind, payload, at)
            except Exception:
                log.exception("entry_rejected", server=self.server, kind=kind)
                continue
            if facts:
                calls.update((c.linkedid, c) for c in calls_in(facts))
                states += [f for f in facts if isinstance(f, AgentStateChanged)]
                for f in facts:
                    if isinstance(f, CallWithdrawn):
                        self.withdrawn.add(f.linkedid)
                        calls.pop(f.linkedid, None)
                if len(calls) >= size or len(states) >= 4 * size:
                    yield list(calls.values()), states
                    calls, states = {}, []
            if self.entries % 2000 == 0:
                await asyncio.sleep(0)  # a long replay must not hold the loop
        if calls or states:
            yield list(calls.values()), states


async def derive(journal: JournalRepository, server: str, tracker: Tracker, from_seq: int = 0,
                 outages: Sequence[OutageCel] = ()
                 ) -> tuple[list[CallRecord], list[AgentStateChanged], int]:
    """Feed the journal of ``server`` from ``from_seq`` to ``tracker``, each outage's CEL
    in its place.

    Returns the calls (final state each), the agent state facts, and the
    number of entries read.
    """
    replay = Replay(journal, server, tracker, from_seq, outages)
    calls: dict[str, CallRecord] = {}
    states: list[AgentStateChanged] = []
    async for changed, facts in replay.batches():
        calls.update((c.linkedid, c) for c in changed)
        states += facts
    kept = [c for lid, c in calls.items() if lid not in replay.withdrawn]
    return kept, states, replay.entries


RESUME_WINDOW = timedelta(hours=12)
"""Open calls that started within this long are rebuilt from the journal at start; older
ones (a call left open for half a day is already wrong) are taken from their rows."""


async def resume_open_calls(journal: JournalRepository, calls: CallRepository, server: str,
                            tracker: Tracker, now: datetime) -> tuple[list[CallRecord], int]:
    """Give a fresh ``tracker`` the calls a previous run left open, rebuilt from their journal
    entries (every entry from the first of theirs on, so the tracker knows their channels,
    bridges, holds and transfers as a run that never stopped would), so live ingest and
    ``rebuild`` agree. Returns the records of those that the journal shows ended (their
    stored rows are stale: write them again) and the entries read.
    """
    records = await calls.open_calls(server)
    recent = {r.linkedid for r in records if r.started_at >= now - RESUME_WINDOW}
    first = await journal.first_seq_of(server, sorted(recent)) if recent else None
    ended: dict[str, CallRecord] = {}
    n = 0
    if first is not None:
        async for e in journal.entries(server, first):
            n += 1
            try:
                facts = apply_entry(tracker, e.kind, e.payload, e.received_at)
            except Exception:
                log.exception("entry_rejected", server=server, event=e.event, linkedid=e.linkedid)
                continue
            ended.update((f.call.linkedid, f.call) for f in facts
                         if isinstance(f, CallEnded) and f.call.linkedid in recent)
            if n % 2000 == 0:
                await asyncio.sleep(0)  # a long replay must not hold the loop
    tracker.adopt([r for r in records if r.linkedid not in recent])
    return list(ended.values()), n


REBUILD_LOOKBACK = RESUME_WINDOW
"""``rebuild --since`` reads the journal from this long before ``since`` on: a call with an
event since then that started earlier still is (a longer one keeps its stored record)."""


async def rebuild(pool: asyncpg.Pool, make_tracker: Callable[[str], Tracker],
                  since: datetime | None = None,
                  cel_tables: Mapping[str, str] | None = None) -> dict[str, int]:
    """Re-derive call records from the journal; returns calls rewritten per server.

    Without ``since`` every call of every server is deleted and rewritten;
    with it, only calls having an event at/after ``since`` (their journal is replayed,
    from :data:`REBUILD_LOOKBACK` before ``since`` on: only those months are read). Calls
    that started before the journal's horizon (months pruned by retention) or before
    that lookback keep their stored records. Each server is rewritten in one
    transaction, a batch of calls at a time. The calls of each recorded outage are
    completed from the server's CEL table (``cel_tables``, by server) as the daemon
    completes them.
    """
    journal = JournalRepository(pool)
    floor = await JournalPartitions(pool).horizon()
    if since is None:
        scope: dict[str, tuple[int, set[str] | None]] = {
            s: (floor, None) for s in await journal.servers()}
    else:
        floor = max(floor, seq_of(since - REBUILD_LOOKBACK))
        scope = dict(await journal.affected_since(since, floor))
    out: dict[str, int] = {}
    for server, (from_seq, wanted) in scope.items():
        outages = await outages_with_cel(pool, server, (cel_tables or {}).get(server, ""))
        replay = Replay(journal, server, make_tracker(server), from_seq, outages)
        out[server] = await _rewrite(pool, replay, wanted, time_of(floor) if floor else None)
        log.info("rebuilt", server=server, entries=replay.entries, calls=out[server])
    return out


async def _rewrite(pool: asyncpg.Pool, replay: Replay, wanted: set[str] | None,
                   floor: datetime | None) -> int:
    """Replace the calls of ``replay``'s server (``wanted``, or all) by what it derives, in
    one transaction; calls stored as started before ``floor`` stay. The calls rewritten."""
    from callcenter.store.agents import AgentRepository

    repo, agents, server = CallRepository(pool), AgentRepository(pool), replay.server
    async with pool.acquire() as conn, conn.transaction():
        await repo.delete_calls(server, None if wanted is None else sorted(wanted), conn,
                                floor)
        async for calls, states in replay.batches():
            if wanted is not None:
                calls = [c for c in calls if c.linkedid in wanted]
            if floor is not None and calls:
                kept = await repo.started_before(server, [c.linkedid for c in calls], floor,
                                                 conn)
                calls = [c for c in calls if c.linkedid not in kept]
            await repo.upsert_calls(calls, conn)
            await agents.apply_states(states, conn)
        if replay.withdrawn:  # written in an earlier batch, taken back later
            await repo.delete_calls(server, sorted(replay.withdrawn), conn)
        return await repo.count_calls(server, wanted, floor, conn)
