"""The enforcer against the simulated PBX over real AMI, in the daemon's production wiring
(AMI client → tracker → real-time path → enforcer → command port; journal on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.calls.model import Fact, RingStarted
from callcenter.ingest.daemon import Daemon
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.settings import AmiServer, Settings
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from tests.support.ringrule import config
from tests.support.wait import until

SPEED = 20.0  # 15 s of ringing = 0.75 s
NEVER = AgentScript(answer_after=None)


class FactLog:
    """A real-time consumer keeping every fact."""

    realtime = True

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def feed(self, facts: Any) -> None:
        self.facts += facts


@dataclass
class Rig:
    sim: PBXSimulator
    daemon: Daemon
    enforcer: RingEnforcer
    log: FactLog
    arrivals: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    """(sim time, action) as each action reached the simulator."""

    def actions(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, a) for t, a in self.arrivals if a.get("Action") == name]

    def rings(self, agent: str) -> list[RingStarted]:
        return [f for f in self.log.facts if isinstance(f, RingStarted) and f.attempt.agent == agent]

    async def until(self, cond: Any, sim_s: float = 60.0) -> None:
        """Wait until ``cond()``, at most ``sim_s`` seconds of PBX time."""
        await until(cond, sim_s / SPEED, every_s=0.005)


@contextlib.asynccontextmanager
async def make_rig(cfg: SimConfig, pool: asyncpg.Pool, spool: Path,
                   reply: Any = None) -> AsyncIterator[Rig]:
    settings = Settings()
    settings.database.spool_dir = str(spool)
    sim = PBXSimulator(speed=SPEED, config=cfg, systemname="sim")
    await sim.start()
    arrivals: list[tuple[float, dict[str, Any]]] = []
    handle = sim.action_handler.handle

    def recording_handle(action: Any) -> Any:
        arrivals.append((sim.clock.now(), dict(action)))
        if reply is not None and (out := reply(sim, action)) is not None:
            return out
        return handle(action)

    sim.action_handler.handle = recording_handle  # type: ignore[method-assign]
    enf = RingEnforcer.from_settings(settings, clock=sim.clock, pause_settle_s=0.5)
    log = FactLog()
    server = AmiServer(name="sim", host="127.0.0.1", port=sim.port, secret="secret")
    daemon = Daemon(settings, pool, consumers=[enf, log], servers=[server], log_calls=False)
    await daemon.start()
    await enf.drain()
    try:
        yield Rig(sim, daemon, enf, log, arrivals)
    finally:
        await daemon.stop()
        await sim.stop()


@pytest.fixture
async def rig(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Rig]:
    async with make_rig(config(["PJSIP/agent1001", "PJSIP/agent1002"]), pool, tmp_path) as r:
        yield r


async def test_queue_ring_cut_at_deadline_and_next_agent_offered(rig: Rig) -> None:
    sim = rig.sim
    call = await sim.inbound_call("+8613800000001", "800",
                                  agents={"agent1001": NEVER, "agent1002": AgentScript(2.0, 3.0)})
    await rig.until(lambda: rig.actions("Hangup"), 30)
    [(arrived, action)] = rig.actions("Hangup")
    [ring] = rig.rings("agent1001")
    assert action["Channel"] == ring.attempt.channel and action["Cause"] == "19"
    late_ms = (arrived - (ring.at.timestamp() + 15.0)) / SPEED * 1000
    assert -1.0 <= late_ms < 200.0
    await rig.until(lambda: rig.rings("agent1002"), 5)
    assert await asyncio.wait_for(call.wait(), 30 / SPEED + 2) == "answered"
    await rig.enforcer.drain()
    [out] = rig.enforcer.outcomes[("sim", call.linkedid)]
    v = out.violation
    assert (v.agent, v.queue, v.action, v.result, v.rings) == (  # cut at the deadline: 3
        "agent1001", "support", "hangup", "ok", 3)
    assert rig.actions("QueuePause") == []


async def test_direct_call_redirected_to_fallback_label(rig: Rig) -> None:
    sim = rig.sim
    call = await sim.inbound_call("+8613800000002", "1002",
                                  agents={"agent1002": NEVER, "agent1001": AgentScript(2.0, 3.0)})
    await rig.until(lambda: rig.actions("Redirect"), 30)
    [(_, action)] = rig.actions("Redirect")
    assert {k: action[k] for k in ("Channel", "Context", "Exten", "Priority")} == {
        "Channel": call.channel, "Context": "from-trunk", "Exten": "1002", "Priority": "toqueue"}
    assert rig.actions("Hangup") == []
    assert await asyncio.wait_for(call.wait(), 30 / SPEED + 2) == "answered"
    assert rig.rings("agent1001")
    [out] = rig.enforcer.outcomes[("sim", call.linkedid)]
    assert (out.violation.action, out.violation.result) == ("redirect", "ok")


async def test_two_misses_pause_with_reason(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with make_rig(config(["PJSIP/agent1001"]), pool, tmp_path) as rig:
        await rig.sim.inbound_call("+8613800000003", "800", agents={"agent1001": NEVER})
        await rig.until(lambda: rig.actions("QueuePause"), 45)
        assert len(rig.actions("Hangup")) == 2
        [(_, pause)] = rig.actions("QueuePause")
        assert {k: pause[k] for k in ("Interface", "Paused", "Reason")} == {
            "Interface": "PJSIP/agent1001", "Paused": "true", "Reason": "ring-no-answer"}
        assert "Queue" not in pause
        await rig.enforcer.drain()
        [alert] = rig.enforcer.alerts
        assert (alert.kind, alert.result, alert.misses) == ("agent_paused", "ok", 2)
        assert rig.sim.pbx.queues["support"].members["PJSIP/agent1001"].paused


async def test_autopause_queue_not_doubled(pool: asyncpg.Pool, tmp_path: Path) -> None:
    cfg = config(["PJSIP/agent1001"])
    cfg.queues[0].autopause = True
    async with make_rig(cfg, pool, tmp_path) as rig:
        member = rig.sim.pbx.queues["support"].members["PJSIP/agent1001"]
        await rig.sim.inbound_call("+8613800000004", "800", agents={"agent1001": NEVER},
                                   patience=50.0)
        await rig.until(lambda: member.paused, 20)  # app_queue paused after our first cut
        rig.sim.agent_pause("agent1001", False)  # the agent comes back, misses again
        await rig.until(lambda: rig.enforcer.alerts, 25)
        assert len(rig.actions("Hangup")) == 2 and member.paused
        assert rig.actions("QueuePause") == []
        assert rig.enforcer.alerts[0].kind == "already_paused"


def _error(name: str, message: str) -> Any:
    def reply(sim: PBXSimulator, action: Any) -> Any:
        if action.get("Action") == name:
            return [{"Response": "Error", "ActionID": action.get("ActionID", ""),
                     "Message": message}]
        return None

    return reply


async def test_failed_action_recorded_as_failed(pool: asyncpg.Pool, tmp_path: Path) -> None:
    denied = _error("Hangup", "Permission denied")
    async with make_rig(config(["PJSIP/agent1001"]), pool, tmp_path, reply=denied) as rig:
        call = await rig.sim.inbound_call("+8613800000005", "800", agents={"agent1001": NEVER},
                                          patience=20.0)
        await rig.until(lambda: rig.actions("Hangup"), 30)
        await rig.enforcer.drain()
        [out] = rig.enforcer.outcomes[("sim", call.linkedid)]
        assert (out.violation.result, out.violation.detail) == ("failed", "Error: Permission denied")
        await asyncio.sleep(10 / SPEED)
        assert len(rig.actions("Hangup")) == 1  # never retried


async def test_stale_channel_is_too_late(pool: asyncpg.Pool, tmp_path: Path) -> None:
    def vanish(sim: PBXSimulator, action: Any) -> Any:
        if action.get("Action") == "Hangup":  # the agent's phone went away a moment before
            sim.pbx.channels.pop(action["Channel"], None)
        return None

    async with make_rig(config(["PJSIP/agent1001"]), pool, tmp_path, reply=vanish) as rig:
        call = await rig.sim.inbound_call("+8613800000006", "800", agents={"agent1001": NEVER},
                                          patience=20.0)
        await rig.until(lambda: rig.actions("Hangup"), 30)
        await rig.enforcer.drain()
        [out] = rig.enforcer.outcomes[("sim", call.linkedid)]
        assert (out.violation.result, out.violation.detail) == ("too_late", "No such channel")
