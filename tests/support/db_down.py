"""A migrated database behind a proxy that can cut it, for outage tests of the web app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from callcenter import db
from callcenter.sim.proxy import CutProxy, pg_proxy


@pytest.fixture
async def proxied(fresh_dsn: str) -> AsyncIterator[tuple[CutProxy, asyncpg.Pool]]:
    """A pool whose connections go through a proxy the test can cut."""
    proxy, dsn = pg_proxy(fresh_dsn)
    await proxy.start()
    pool = await db.create_pool(dsn(), min_size=1, max_size=2)
    try:
        yield proxy, pool
    finally:
        proxy.restore()
        await db.close_pool(pool, 2.0)
        await proxy.stop()
