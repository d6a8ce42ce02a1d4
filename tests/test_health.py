"""Supervised tasks, /readyz and /metrics of a running daemon."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from callcenter.ingest.daemon import Daemon
from callcenter.ingest.pipeline import ServerPipeline
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.settings import AmiServer, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.supervisor import Supervisor
from callcenter.web import health
from tests.support.wait import until

SPEED = 10.0


async def test_a_failing_task_is_logged_and_restarted_then_fatal() -> None:
    runs: list[int] = []
    fatal: list[str] = []

    async def flaky() -> None:
        runs.append(1)
        await asyncio.sleep(0)
        raise RuntimeError(f"boom {len(runs)}")

    sup = Supervisor(fatal.append, max_restarts=2, backoff_s=0.01)
    with capture_logs() as logs:
        sup.spawn("flaky", flaky)
        await until(lambda: fatal)
    assert fatal == ["flaky"] and sup.fatal == "flaky" and len(runs) == 3
    failed = [e for e in logs if e["event"] == "task_failed"]
    assert len(failed) == 3 and all(e["log_level"] == "error" and e["exc_info"] for e in failed)
    assert sup.health()["flaky"] == {"running": False, "restarts": 2,
                                     "last_error": "RuntimeError('boom 3')"}
    await sup.stop()


async def test_a_task_that_returns_early_fails_but_one_told_to_finish_does_not() -> None:
    fatal: list[str] = []
    stop = asyncio.Event()

    async def quits() -> None:
        return

    async def until_stopped() -> None:
        await stop.wait()

    sup = Supervisor(fatal.append)
    sup.spawn("quits", quits, restart=False)
    sup.spawn("worker", until_stopped)
    await until(lambda: fatal)
    assert fatal == ["quits"]
    stop.set()
    assert await sup.finish("worker", 1.0)
    assert fatal == ["quits"] and sup.health()["worker"]["last_error"] is None
    await sup.stop()


@pytest.fixture
async def daemon(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[Daemon, PBXSimulator]]:
    sim = PBXSimulator(speed=SPEED, systemname="sim")
    await sim.start()
    settings = Settings(
        servers=[AmiServer(name="sim", port=sim.port, secret="secret", reconnect_min_s=0.05,
                           reconnect_max_s=0.2)],
        database=DatabaseSettings(spool_dir=str(tmp_path / "spool"), batch_delay_s=0.01))
    enforcer = RingEnforcer.from_settings(settings, clock=sim.clock, pause_settle_s=0.1)
    d = Daemon(settings, pool, consumers=[enforcer], log_calls=False)
    await d.start()
    await until(lambda: d.clients["sim"].connected)
    try:
        yield d, sim
    finally:
        await d.stop()
        await sim.stop()


async def test_a_crashed_pipeline_is_restarted_and_ingest_goes_on(
        daemon: tuple[Daemon, PBXSimulator], monkeypatch: pytest.MonkeyPatch) -> None:
    d, sim = daemon
    real = ServerPipeline.process
    crashes: list[int] = []

    async def crash_once(self: ServerPipeline, batch: Any) -> None:
        if not crashes:
            crashes.append(len(batch))
            raise RuntimeError("a bug in the pipeline")
        await real(self, batch)

    monkeypatch.setattr(ServerPipeline, "process", crash_once)
    first = await sim.inbound_call("+8613800000001", "800",
                                   agents={"agent1001": AgentScript(0.5, 1.0)})
    await asyncio.wait_for(first.wait(), 10)
    await until(lambda: d.supervisor.health()["pipeline-sim"]["restarts"] == 1)
    second = await sim.inbound_call("+8613800000002", "800",
                                    agents={"agent1001": AgentScript(0.5, 1.0),
                                            "agent1002": AgentScript(0.5, 1.0)})
    assert await asyncio.wait_for(second.wait(), 10) == "answered"

    async def stored() -> bool:  # tracked and stored after the restart
        return await d.pool.fetchval("SELECT disposition FROM calls WHERE linkedid = $1",
                                     second.linkedid) == "answered"

    await until(stored)
    assert d.supervisor.fatal is None


async def health_client(d: Daemon) -> TestClient[Any, Any]:
    app = web.Application()
    health.setup(app, d)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_readyz_per_server_and_503_when_the_ami_link_is_down(
        daemon: tuple[Daemon, PBXSimulator]) -> None:
    d, sim = daemon
    await until(lambda: d.pipelines["sim"].last_entry_at is not None)  # resync's events
    client = await health_client(d)
    try:
        resp = await client.get("/readyz")
        report = await resp.json()
        assert resp.status == 200 and report["ready"] and report["problems"] == []
        server = report["servers"]["sim"]
        assert server["ami_connected"] and server["last_event_age_s"] is not None
        assert report["store"]["database"] == "ok" and report["store"]["spool_ops"] == 0
        assert set(report["tasks"]) == {"store-spool-drainer", "outage-filler",
                                        "journal-maintenance", "pipeline-sim", "durable-sim"}
        assert report["outages"] == {"recorded": 0, "filled": 0, "calls_filled": 0,
                                     "unfilled": [], "fill_error": None}
        await sim.stop()
        await until(lambda: not d.clients["sim"].connected)
        resp = await client.get("/readyz")
        report = await resp.json()
        assert resp.status == 503 and report["problems"] == ["sim: AMI link down"]
    finally:
        await client.close()


async def test_metrics_in_the_prometheus_text_format(
        daemon: tuple[Daemon, PBXSimulator]) -> None:
    d, sim = daemon
    call = await sim.inbound_call("+8613800000001", "800",
                                  agents={"agent1001": AgentScript(answer_after=None),
                                          "agent1002": AgentScript(0.5, 1.0)},
                                  patience=40.0)
    await asyncio.wait_for(call.wait(), 20)
    await until(lambda: d.commands.results)
    client = await health_client(d)
    try:
        resp = await client.get("/metrics")
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    finally:
        await client.close()
    events = families["callcenter_events_in"].samples
    assert events[0].labels == {"server": "sim"} and events[0].value > 0
    hangups = [s for s in families["callcenter_actions"].samples
               if s.labels["action"] == "Hangup"]
    assert sum(s.value for s in hangups) == 1 and hangups[0].labels["result"] in (
        "ok", "too_late")  # the simulator's queue may end the ring itself at 15 s
    late = families["callcenter_enforcement_lateness_seconds"]
    assert late.type == "histogram"
    assert [s.value for s in late.samples if s.name.endswith("_count")] == [1.0]
    commits = families["callcenter_journal_commit_seconds"]
    assert next(s.value for s in commits.samples if s.name.endswith("_count")) > 0
    for name in ("callcenter_outages", "callcenter_outages_unfilled",
                 "callcenter_outage_calls_filled", "callcenter_outage_fill_failures",
                 "callcenter_spool_bytes", "callcenter_sse_clients", "callcenter_ami_connected",
                 "callcenter_journal_lag_seconds", "callcenter_durable_queue_depth",
                 "callcenter_database_up", "callcenter_store_lost"):
        assert name in families, name
    assert families["callcenter_database_up"].samples[0].value == 1
