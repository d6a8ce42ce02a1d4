"""The AMI link drops mid-call (the daemon stays up): the outage shows on the wallboard and
on /readyz until its calls are completed from the CEL the simulator writes into PostgreSQL,
then the call is stored as it happened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from callcenter.calls.model import Fact, ServiceAlert
from callcenter.cli.calls_cmd import call_json
from callcenter.ingest.daemon import Daemon
from callcenter.live import LiveConsumer
from callcenter.settings import AmiServer, CelSettings, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.proxy import CutProxy
from callcenter.store.calls import CallRepository
from tests.support.wait import until


class Alerts:
    """A real-time consumer keeping the service alerts it sees."""

    realtime = True

    def __init__(self) -> None:
        self.seen: list[ServiceAlert] = []

    def feed(self, facts: list[Fact]) -> None:
        self.seen += [f for f in facts if isinstance(f, ServiceAlert)]


async def stored(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    return {c.caller or "": call_json(c) for c in await CallRepository(pool).list_calls(limit=None)}


async def test_a_link_outage_is_shown_then_filled_from_cel(fresh_dsn: str, pool: asyncpg.Pool,
                                                           tmp_path: Path) -> None:
    sim = PBXSimulator(seed=2, speed=20, cel_dsn=fresh_dsn)
    await sim.start()
    proxy = CutProxy.to_port(sim.port)
    await proxy.start()
    settings = Settings(
        servers=[AmiServer(name="sim", port=proxy.port, secret="secret", reconnect_min_s=0.05,
                           reconnect_max_s=0.2)],
        database=DatabaseSettings(spool_dir=str(tmp_path / "spool"), batch_delay_s=0.01),
        cel=CelSettings(settle_s=0.2, retry_s=0.3))
    live, alerts = LiveConsumer.from_settings(settings), Alerts()
    daemon = Daemon(settings, pool, consumers=[live, alerts], log_calls=False)
    await daemon.start()
    try:
        await until(lambda: all(c.connected for c in daemon.clients.values()))
        lost = await sim.inbound_call("+3222000009", "800",
                                      agents={"agent1001": AgentScript(answer_after=2, talk=30)})
        await until(lambda: pool.fetchval("SELECT count(*) FROM calls"
                                          " WHERE answered_at IS NOT NULL"))
        proxy.cut()  # the AMI link goes down; the call ends while we are blind
        await lost.wait()
        proxy.restore()
        await until(lambda: daemon.outages.health.recorded == 1)
        board = live.state.snapshot(lambda number: number or "")
        assert [a["problem"] for a in board["service_alerts"]] == ["outage"]
        after = await sim.inbound_call("+3222000010", "800",
                                       agents={"agent1002": AgentScript(answer_after=1, talk=2)})
        await after.wait()
        await until(lambda: daemon.outages.health.filled == 1)
        ready, report = daemon.health()
        assert report["outages"]["unfilled"] == [] and report["outages"]["calls_filled"] == 1
        assert ready
        board = live.state.snapshot(lambda number: number or "")
        assert board["service_alerts"] == []
        assert [a.active for a in alerts.seen if a.problem == "outage"] == [True, False]
    finally:
        await daemon.stop()
        await proxy.stop()
        await sim.stop()
    calls = await stored(pool)
    filled = calls["+3222000009"]
    assert filled["disposition"] == "answered" and filled["agent"] == "agent1001"
    assert abs(filled["talk_s"] - 30.0) < 0.5 and filled["unknown"] == []
    assert filled["hangup_by"] == "agent"
