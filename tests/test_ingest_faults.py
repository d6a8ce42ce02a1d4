"""Adversity: the database going away mid-ingest, malformed input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from callcenter import db
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline import ServerPipeline
from callcenter.ingest.pipeline_durable import DurablePath, FanOut
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.settings import Settings
from callcenter.sim.proxy import pg_proxy
from callcenter.store.consumer import StoreConsumer
from callcenter.store.writer import StoreWriter

TRACES = Path(__file__).parent / "traces"
TABLES = ("journal", "calls", "ring_attempts", "transfers", "violations", "agents",
          "queue_members", "agent_state_history", "queues")


async def dump(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    return {t: [tuple(r.values()) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
            for t in TABLES}


async def run_items(pool: asyncpg.Pool, items: list[Any], spool: Path, *,
                    at: dict[int, Any] | None = None) -> StoreWriter:
    """Ingest ``items`` (paced by a small queue), calling ``at[i]()`` before item i."""
    writer = StoreWriter(pool, spool, timeout_s=2, retry_s=0.05)
    await writer.start()
    fanout = FanOut([StoreConsumer(writer)], maxsize=4)
    pipe = ServerPipeline("ccpbx", make_tracker("ccpbx", Settings()),
                          DurablePath("ccpbx", writer, fanout), batch_size=20, batch_delay_s=0,
                          queue_size=20)
    pipe.start()
    for i, item in enumerate(items):
        if at and i in at:
            at[i]()
        await pipe.put_item(item)
    await pipe.stop()
    await fanout.close()
    await writer.close()
    return writer


async def test_database_outage_mid_ingest_loses_and_doubles_nothing(
        pool: asyncpg.Pool, fresh_dsn: str, tmp_path: Path) -> None:
    items = list(read_capture(TRACES / "real" / "concurrent_burst.jsonl"))
    proxy, proxied_dsn = pg_proxy(fresh_dsn)
    await proxy.start()
    cut_pool = await db.create_pool(proxied_dsn(), min_size=1, max_size=2)
    try:
        third = len(items) // 3
        writer = await run_items(cut_pool, items, tmp_path,
                                 at={third: proxy.cut, 2 * third: proxy.restore})
    finally:
        await cut_pool.close()
        await proxy.stop()
    assert writer.spooled_ops > 0, "the outage should have sent writes to the spool"
    assert writer.pending == 0
    after_outage = await dump(pool)
    calls = [c for c in after_outage["calls"]]
    assert len({(c[0], c[1]) for c in calls}) == len(calls)
    # a clean second ingest of the same capture adds nothing: nothing was lost
    await run_items(pool, items, tmp_path / "clean")
    assert await dump(pool) == after_outage


async def test_malformed_frames_are_skipped(pool: asyncpg.Pool, tmp_path: Path) -> None:
    items = list(read_capture(TRACES / "real2" / "q_answer_fast.jsonl"))
    bad = [("frame", {"Event": "Hangup", "Linkedid": ["a", "b"], "Cause": "x"}, items[5][2]),
           ("frame", {"Event": "DialEnd"}, items[5][2]),
           ("frame", {"Nonsense": "1"}, items[5][2])]
    await run_items(pool, items[:6] + bad + items[6:], tmp_path)
    rows = await pool.fetch("SELECT disposition, agent, queue FROM calls"
                            " WHERE direction = 'inbound'")
    assert [tuple(r.values()) for r in rows] == [("answered", "agent1001", "support")]
