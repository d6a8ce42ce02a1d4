"""The journal partitioned by month: migration in place, inserts that never fail, reads
that touch only the months they need, retention that keeps open calls and records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter import db
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline_replay import (
    REBUILD_LOOKBACK,
    capture_server_name,
    ingest_items,
    read_capture,
    rebuild,
)
from callcenter.settings import Settings
from callcenter.store.consumer import StoreConsumer
from callcenter.store.journal import PAGE, JournalEntry, JournalRepository
from callcenter.store.journal_partitions import JournalPartitions, month_start, seq_of
from callcenter.store.writer import StoreWriter

TRACES = Path(__file__).parent / "traces"
MARCH = datetime(2026, 3, 15, 12, tzinfo=UTC)


def entry(server: str, at: datetime, linkedid: str | None = "c1", event: str = "Newchannel"
          ) -> JournalEntry:
    frame = {"Event": event, "Timestamp": f"{at.timestamp():.6f}"}
    if linkedid:
        frame |= {"Linkedid": linkedid, "Uniqueid": linkedid}
    return JournalEntry.of(server, seq_of(at), "frame", frame, at.timestamp())


async def months_of(pool: asyncpg.Pool) -> list[str]:
    """The months of the first half of 2026 (the migration made the current and next)."""
    return [p.name for p in await JournalPartitions(pool).months()
            if "journal_y2026m01" <= p.name <= "journal_y2026m06"]


def relations(plan: Any) -> set[str]:
    """Every relation a JSON plan scans."""
    if isinstance(plan, list):
        return set().union(*map(relations, plan)) if plan else set()
    if not isinstance(plan, dict):
        return set()
    own = {plan["Relation Name"]} if "Relation Name" in plan else set()
    return own.union(*map(relations, plan.values()))


async def test_migration_converts_an_existing_journal_in_place(bare_dsn: str) -> None:
    conn = await asyncpg.connect(bare_dsn)
    try:
        await conn.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY,"
                           " applied_at timestamptz NOT NULL DEFAULT now())")
        for path in db.migration_files():
            if path.name < "019":
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations VALUES ($1)", path.name)
        rows = [entry("pbx", datetime(2025, m, 3, tzinfo=UTC), f"c{m}").row() for m in (1, 2, 7)]
        await conn.executemany(
            "INSERT INTO journal VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($5), $6,"
            " $7, $8::json)", rows)
        assert await db.migrate(conn) == [p.name for p in db.migration_files() if p.name >= "019"]
        kind = await conn.fetchval("SELECT relkind FROM pg_class WHERE relname = 'journal'")
        assert kind == b"p"
        got = await conn.fetch("SELECT tableoid::regclass::text AS part, seq FROM journal"
                               " ORDER BY seq")
        assert [(r["part"], r["seq"]) for r in got] == [
            ("journal_y2025m01", rows[0].seq), ("journal_y2025m02", rows[1].seq),
            ("journal_y2025m07", rows[2].seq)]
        assert await conn.fetchval("SELECT to_regclass('journal_unpartitioned')") is None
    finally:
        await conn.close()


async def test_appends_stay_idempotent_and_never_fail_for_a_missing_month(
        pool: asyncpg.Pool) -> None:
    repo, months = JournalRepository(pool), JournalPartitions(pool)
    future = datetime(2031, 5, 2, tzinfo=UTC)
    entries = [entry("pbx", MARCH), entry("pbx", future), entry("pbx", future + timedelta(1))]
    await repo.append(entries)
    await repo.append(entries)  # ON CONFLICT (server, seq) DO NOTHING, across partitions
    where = "SELECT tableoid::regclass::text FROM journal WHERE seq = $1"
    assert await pool.fetchval(where, entries[1].seq) == "journal_default"
    assert await months.add_months(future) == ["journal_y2031m05", "journal_y2031m06"]
    assert await pool.fetchval(where, entries[1].seq) == "journal_y2031m05"
    assert await pool.fetchval("SELECT count(*) FROM journal_default") == 1  # March: none yet
    assert [e.seq async for e in repo.entries("pbx")] == [e.seq for e in entries]


async def test_rebuild_since_reads_only_the_months_from_since_on(pool: asyncpg.Pool) -> None:
    months = JournalPartitions(pool)
    for m in range(1, 5):
        await months.add_months(datetime(2026, m, 1, tzinfo=UTC), ahead=0)
    repo = JournalRepository(pool)
    await repo.append([entry("pbx", datetime(2026, m, 10, tzinfo=UTC), f"c{m}")
                       for m in range(1, 5)])
    since = MARCH
    floor = seq_of(since - REBUILD_LOOKBACK)
    async with pool.acquire() as conn:
        page = await conn.fetchval("EXPLAIN (FORMAT JSON) " + PAGE, "pbx", floor, 5000)
        affected = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) SELECT * FROM journal WHERE seq >= $1", floor)
    scanned = relations(page) | relations(affected)  # the pool decodes json
    assert {"journal_y2026m03", "journal_y2026m04"} <= scanned
    assert not scanned & {"journal_y2026m01", "journal_y2026m02"}
    assert await repo.affected_since(since, floor) == {"pbx": (seq_of(datetime(
        2026, 4, 10, tzinfo=UTC)), {"c4"})}


async def test_prune_drops_old_months_but_keeps_open_calls_records_and_gaps(
        pool: asyncpg.Pool) -> None:
    months, now = JournalPartitions(pool), datetime(2026, 6, 20, tzinfo=UTC)
    for m in range(1, 7):
        await months.add_months(datetime(2026, m, 1, tzinfo=UTC), ahead=0)
    await JournalRepository(pool).append(
        [entry("pbx", datetime(2026, m, 5, tzinfo=UTC), f"c{m}") for m in range(1, 7)])
    await pool.execute("INSERT INTO calls (server, linkedid, direction, started_at, ended_at)"
                       " VALUES ('pbx', 'c1', 'inbound', '2026-01-05', '2026-01-05 00:05'),"
                       " ('pbx', 'c3', 'inbound', '2026-03-05', NULL)")
    await pool.execute("INSERT INTO journal_gaps (server, kind, items, what, reason, noted_at)"
                       " VALUES ('pbx', 'store_dropped', 3, 'journal', 'test', now())")
    dry = await months.prune(now, 1, dry_run=True)
    assert [p.name for p in dry.pruned] == ["journal_y2026m01", "journal_y2026m02"]
    assert dry.held_by == ["c3"]  # c3 is open: March stays, though retention says May on
    assert len(await months_of(pool)) == 6

    done = await months.prune(now, 1)
    assert await months_of(pool) == [f"journal_y2026m0{m}" for m in range(3, 7)]
    assert await months.horizon() == seq_of(datetime(2026, 3, 1, tzinfo=UTC))
    assert done.cutoff_seq == seq_of(datetime(2026, 3, 5, tzinfo=UTC))  # c3's first entry
    assert await pool.fetchval("SELECT count(*) FROM journal_gaps") == 1
    assert await pool.fetchval("SELECT count(*) FROM calls") == 2
    # a full rebuild cannot re-derive c1 any more: its record stays as it was
    await rebuild(pool, lambda s: make_tracker(s, Settings()))
    assert await pool.fetchval("SELECT ended_at FROM calls WHERE linkedid = 'c1'") is not None


async def test_month_start_counts_utc_months_back() -> None:
    assert month_start(datetime(2026, 1, 31, 23, tzinfo=UTC), 1) == datetime(2025, 12, 1,
                                                                             tzinfo=UTC)
    assert month_start(datetime(2026, 12, 1, tzinfo=UTC), -1) == datetime(2027, 1, 1, tzinfo=UTC)


async def stored(pool: asyncpg.Pool) -> tuple[list[Any], list[Any]]:
    calls = await pool.fetch("SELECT * FROM calls ORDER BY server, linkedid")
    states = await pool.fetch("SELECT server, interface, queue, at, agent, state, paused,"
                              " reason, in_queue FROM agent_state_history"
                              " ORDER BY server, interface, queue, at, state")
    return [dict(r) for r in calls], [dict(r) for r in states]


@pytest.fixture(params=[1000, 1], ids=["batches-1000", "batches-1"])
def batch_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Rebuild's batch of calls (1: every call comes in several batches)."""
    from callcenter.ingest import pipeline_replay

    defaults = pipeline_replay.Replay.batches.__defaults__
    monkeypatch.setattr(pipeline_replay.Replay.batches, "__defaults__", (request.param,))
    assert defaults == (1000,)
    return int(request.param)


async def test_rebuild_of_real_captures_gives_what_live_ingest_stored(
        pool: asyncpg.Pool, tmp_path: Path, batch_size: int) -> None:
    captures = sorted((TRACES / "real2").glob("*.jsonl")) + sorted(
        (TRACES / "real3").glob("*.jsonl"))
    writer = StoreWriter(pool, tmp_path / "spool")
    for n, path in enumerate(captures):
        items = list(read_capture(path))
        server = f"{capture_server_name(items)}-{n}"
        await ingest_items(items, server, make_tracker(server, Settings()), writer,
                           [StoreConsumer(writer)])
    await writer.close()
    live = await stored(pool)
    assert len(live[0]) >= len(captures)
    await pool.execute("DELETE FROM calls; DELETE FROM agent_state_history")
    await rebuild(pool, lambda s: make_tracker(s, Settings()))
    assert await stored(pool) == live
