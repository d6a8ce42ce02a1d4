"""A clean stop of an active instance hands its leases over as soon as its writes are in,
not after consumers that take their time to close (the recordings consumer gives files in
progress up to 5 s): the standby takes over within about a second of the SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from callcenter.ingest.daemon import Daemon
from callcenter.settings import AmiServer, DatabaseSettings, HaSettings, Settings
from callcenter.sim import PBXSimulator
from tests.support.wait import until


class SlowToClose:
    """A durable consumer whose close takes ``close_s`` (as the recordings consumer's may)."""

    def __init__(self, close_s: float) -> None:
        self.close_s = close_s
        self.closed = False

    async def on_facts(self, facts: object) -> None:
        return None

    async def close(self) -> None:
        await asyncio.sleep(self.close_s)
        self.closed = True


async def test_a_clean_stop_releases_the_lease_before_the_slow_closers(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with PBXSimulator(speed=10) as sim:
        settings = Settings(
            servers=[AmiServer(name="pbx", port=sim.port, secret="secret")],
            database=DatabaseSettings(spool_dir=str(tmp_path / "spool"), batch_delay_s=0.01),
            ha=HaSettings(enabled=True, instance="one", takeover_s=3.0))
        slow = SlowToClose(close_s=3.0)
        daemon = Daemon(settings, pool, consumers=[slow], log_calls=False)
        await daemon.start()
        await until(lambda: "pbx" in daemon.pipelines, timeout_s=10)  # the lease is taken
        stopping = asyncio.create_task(daemon.stop())

        async def released() -> bool:
            assert not stopping.done(), "the lease was held until the stop ended"
            return not await pool.fetchval("SELECT expires_at > now() FROM ha_leases")

        await until(released, every_s=0.02)
        assert not slow.closed  # released while the slow consumer still closes
        await stopping
        assert slow.closed
        assert not await pool.fetchval("SELECT count(*) FROM ha_instances")
