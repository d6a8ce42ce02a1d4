"""A capture replayed through the production pipeline into the store, as live ingest."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline_replay import capture_server_name, ingest_items, read_capture
from callcenter.settings import Settings
from callcenter.store.consumer import StoreConsumer
from callcenter.store.writer import StoreWriter


async def store_capture(pool: asyncpg.Pool, capture: Path, spool: Path) -> str:
    """Replay ``capture`` (tracker, journal, store) into ``pool``; the server name used."""
    items = list(read_capture(capture))
    server = capture_server_name(items)
    writer = StoreWriter(pool, spool)
    await writer.start()
    await ingest_items(items, server, make_tracker(server, Settings()), writer,
                       [StoreConsumer(writer)])
    await writer.close()
    return server
