"""Adversity: the database going away mid-ingest, malformed input."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from callcenter import db
from callcenter.pipeline import FanOut, ServerPipeline
from callcenter.pipeline_replay import read_capture
from callcenter.settings import Settings
from callcenter.store.consumer import StoreConsumer
from callcenter.store.writer import StoreWriter

pytest.importorskip("callcenter.calls.tracker", reason="the tracker has not landed yet")

from callcenter.daemon import make_tracker

TRACES = Path(__file__).parent / "traces"
TABLES = ("journal", "calls", "ring_attempts", "transfers", "violations", "agents",
          "queue_members", "agent_state_history", "queues")


async def dump(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    return {t: [tuple(r.values()) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
            for t in TABLES}


class PgProxy:
    """Listens on 127.0.0.1:0 and forwards to the server of ``dsn``.

    :meth:`cut` drops every connection and refuses new ones (closed at once)
    until :meth:`restore`.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        parts = urlsplit(dsn)
        host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
        self.port_to = parts.port or 5432
        self.unix = host if host.startswith("/") else None
        self.host_to = host
        self.down = False
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def proxied_dsn(self) -> str:
        """``dsn`` pointed at the proxy."""
        parts = urlsplit(self.dsn)
        user = parts.username or "postgres"
        cred = user + (f":{parts.password}" if parts.password else "")
        return f"postgresql://{cred}@127.0.0.1:{self.port}{parts.path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.down = True
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.down = False

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        if self.unix:
            up_r, up_w = await asyncio.open_unix_connection(f"{self.unix}/.s.PGSQL.{self.port_to}")
        else:
            up_r, up_w = await asyncio.open_connection(self.host_to, self.port_to)
        self._writers |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


async def run_items(pool: asyncpg.Pool, items: list[Any], spool: Path, *,
                    at: dict[int, Any] | None = None) -> StoreWriter:
    """Ingest ``items`` (paced by a small queue), calling ``at[i]()`` before item i."""
    writer = StoreWriter(pool, spool, timeout_s=2, retry_s=0.05)
    await writer.start()
    fanout = FanOut([StoreConsumer(writer)], maxsize=4)
    pipe = ServerPipeline("ccpbx", make_tracker("ccpbx", Settings()), writer, fanout,
                          batch_size=20, batch_delay_s=0, queue_size=20)
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
    proxy = PgProxy(fresh_dsn)
    await proxy.start()
    cut_pool = await db.create_pool(proxy.proxied_dsn, min_size=1, max_size=2)
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
