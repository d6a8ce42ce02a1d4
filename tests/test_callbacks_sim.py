"""Queue callback and key-account priority end to end: the simulator plays the dialplan
(AGI to the daemon's FastAGI, QUEUE_PRIO, press 1, the callback's Originate), the daemon
tracks, stores and places callbacks through the command port."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from callcenter.callbacks.service import CallbackService, callback_linkedid
from callcenter.health import DaemonCollector
from callcenter.ingest.daemon import Daemon, callback_consumer
from callcenter.live import LiveConsumer
from callcenter.settings import CallbackSettings
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.outbound import OutboundScript
from callcenter.sim.runconfig import free_port
from callcenter.store.callbacks import CallbackRepository
from callcenter.store.customers import CustomerEdit, CustomerRepository
from tests.support.check_config import shipped_dialplan, steps_for
from tests.support.settings import sim_settings
from tests.support.wait import until

SPEED = 10.0
TRACES = Path(__file__).parent / "traces" / "real3"
NEVER = AgentScript(answer_after=None)


@dataclass
class Rig:
    sim: PBXSimulator
    daemon: Daemon
    live: LiveConsumer
    callbacks: CallbackService
    repo: CallbackRepository
    pool: asyncpg.Pool

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.sim.events if e.get("Event") == name]

    async def row(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.pool.fetchrow(sql, *args)


@contextlib.asynccontextmanager
async def rig(pool: asyncpg.Pool, tmp_path: Path, *, agi: bool = True,
              **callbacks: Any) -> AsyncIterator[Rig]:
    config = SimConfig.default()
    for q in config.queues:  # as dialplan/queues.conf: wrapuptime 5, support offers callback
        q.wrapup = 5.0
        q.callback_context = "callback-support" if q.name == "support" else ""
    sim = PBXSimulator(speed=SPEED, keep_events=True, auth_fail_delay=0.01, config=config)
    await sim.start()
    settings = sim_settings(sim, tmp_path)
    settings.callbacks = CallbackSettings.model_validate({
        "agi_port": 0,
        "queues": {"support": {"offer_after_s": 0, "retries": 1, "retry_interval_s": 0.5,
                               "give_up_disposition": "no_contact"}}} | callbacks)
    live = LiveConsumer.from_settings(settings)
    service = callback_consumer(settings, pool)
    daemon = Daemon(settings, pool, consumers=[live, service], log_calls=False)
    await daemon.start()
    try:
        await until(lambda: service.agi.listening and daemon.clients["sim"].connected
                    and bool(service.view.members))
        sim.use_agi("127.0.0.1", service.agi.port if agi else free_port())
        box = Rig(sim, daemon, live, service, CallbackRepository(pool), pool)
        yield box
        daemon = box.daemon  # a test may have restarted it
    finally:
        await daemon.stop()
        await sim.stop()


async def key_account(pool: asyncpg.Pool, number: str, tier: str) -> None:
    customer = await CustomerRepository(pool).create(
        CustomerEdit(name="Key", company="", notes="", phones=[number]), actor="t")
    await pool.execute("UPDATE customers SET key_account = true, tier = $2 WHERE id = $1",
                       customer.id, tier)


def registry(daemon: Daemon) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(DaemonCollector(daemon))
    return reg


def pause_all(sim: PBXSimulator, but: str | None = None) -> None:
    for agent in ("agent1001", "agent1002", "agent1003"):
        if agent != but:
            sim.agent_pause(agent, True, "Break")


async def test_a_key_account_waits_ahead_like_on_the_real_pbx(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """real3/vip_priority: 501, 502, then the key account 503 joins at position 1 of 3."""
    real = [json.loads(line)["frame"] for line in
            (TRACES / "vip_priority.jsonl").read_text(encoding="utf-8").splitlines()
            if '"QueueCallerJoin"' in line]
    expected = [(f["CallerIDNum"], f["Position"], f["Count"]) for f in real]
    async with rig(pool, tmp_path) as r:
        await key_account(pool, expected[2][0], "gold")
        pause_all(r.sim)
        for caller, *_ in expected:
            await r.sim.inbound_call(caller, "810")
            await until(lambda c=caller: any(e["CallerIDNum"] == c
                                             for e in r.events("QueueCallerJoin")))
            await r.sim.advance(2)
        joins = [(e["CallerIDNum"], e["Position"], e["Count"])
                 for e in r.events("QueueCallerJoin")]
        assert joins == expected == [("13800000501", "1", "1"), ("13800000502", "2", "2"),
                                     ("13800000503", "1", "3")]
        prios = {e["CallerIDNum"]: e["Value"] for e in r.events("VarSet")
                 if e["Variable"] == "QUEUE_PRIO" and e["Value"] != "0"}
        assert prios == {"13800000503": "10"}
        _, report = r.daemon.health()
        assert report["callbacks"]["listening"] and report["callbacks"]["requests"] == {
            "priority:ok": 3}
        assert "FastAGI" not in " ".join(report["problems"])
        metrics = generate_latest(registry(r.daemon)).decode()
        assert 'callcenter_fastagi_requests_total{outcome="ok",script="priority"} 3.0' in metrics
        assert "callcenter_fastagi_listening 1.0" in metrics
        r.sim.agent_pause("agent1001", False)  # the key account is answered first
        await until(lambda: bool(r.events("AgentConnect")))
        assert r.events("AgentConnect")[0]["CallerIDNum"] == "13800000503"


async def test_daemon_away_the_call_goes_on_as_an_ordinary_one(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with rig(pool, tmp_path, agi=False) as r:
        await key_account(pool, "13800000503", "gold")
        call = await r.sim.inbound_call("13800000503", "810", press_1_after=2.0)
        assert await call.wait() == "answered"  # pressing 1 put it back in the queue
        statuses = [e["Value"] for e in r.events("VarSet") if e["Variable"] == "AGISTATUS"]
        assert statuses == ["FAILURE"]  # priority only: no offer was made, so no request
        assert [e["Value"] for e in r.events("VarSet") if e["Variable"] == "QUEUE_PRIO"] == [
            "0"]
        # no offer was made: pressing 1 put the caller back at the place it left
        assert [e["Position"] for e in r.events("QueueCallerJoin")] == ["1", "1"]
        assert [e["Value"] for e in r.events("VarSet") if e["Variable"] == "QUEUEPOSITION"
                ] == ["1"]


async def requested(r: Rig, caller: str, wait: float = 3.0) -> Any:
    """``caller`` calls 810 and presses 1 after ``wait`` s: the call, once its request is
    stored and the call recorded as callback_requested."""
    call = await r.sim.inbound_call(caller, "810", press_1_after=wait)
    assert await call.wait() == "callback_requested"

    async def stored() -> bool:
        row = await r.row("SELECT disposition FROM calls WHERE linkedid = $1", call.linkedid)
        return row is not None and row["disposition"] == "callback_requested"

    await until(stored)
    return call


async def test_callback_agent_first_then_customer_records_linked(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with rig(pool, tmp_path) as r:
        pause_all(r.sim, but="agent1001")
        r.sim.set_agent("agent1001", AgentScript(answer_after=1.0, talk=30.0))
        busy = await r.sim.inbound_call("13800000400", "800")
        await until(lambda: bool(r.events("AgentConnect")))
        call = await requested(r, "13800000501")
        (req,) = await r.repo.open_requests()
        assert (req.linkedid, req.number, req.queue, req.status, req.position) == (
            call.linkedid, "13800000501", "support", "waiting", 1)
        board = r.live.state.snapshot(lambda n: n or "")
        assert [(c["queue"], c["waiting"]) for c in board["callbacks"]] == [("support", 1)]
        support = next(q for q in board["queues"] if q["name"] == "support")
        assert (support["offered"], support["abandoned"], support["short_abandoned"]) == (
            2, 0, 0)  # the busy call and the callback's original: no abandon
        assert [e for e in r.events("QueueCallerAbandon")] == []
        assert await busy.wait() == "answered"
        lid = callback_linkedid(req.id, 1)

        async def reached() -> bool:
            got = await r.repo.get(req.id)
            return got is not None and got.status == "reached"

        await until(reached, 60)
        (originate,) = [a for a in r.sim.actions if a.get("Action") == "Originate"]
        assert (originate["Channel"], originate["Context"], originate["Exten"],
                originate["ChannelId"]) == ("PJSIP/agent1001", "callback-dial", "13800000501",
                                            lid)
        channels = [e for e in r.events("Newchannel") if e["Linkedid"] == lid]
        assert [c["Channel"].split("-")[0] for c in channels] == ["PJSIP/agent1001",
                                                                 "PJSIP/trunk"]
        agent_up = next(e for e in r.events("Newstate") if e["Uniqueid"] == lid
                        and e["ChannelState"] == "6")
        dial = next(e for e in r.events("DialBegin") if e["Linkedid"] == lid)
        assert float(agent_up["Timestamp"]) <= float(dial["Timestamp"])  # agent first

        async def stored() -> asyncpg.Record | None:
            return await r.row("SELECT * FROM calls WHERE linkedid = $1 AND ended_at IS NOT"
                               " NULL", lid)

        await until(stored)
        record = await stored()
        assert record is not None
        assert (record["direction"], record["disposition"], record["agent"]) == (
            "outbound", "answered", "agent1001")
        link = await r.row("SELECT c.linkedid AS original, a.linkedid AS callback, a.outcome"
                           " FROM callbacks c JOIN callback_attempts a ON a.callback_id = c.id"
                           " WHERE c.id = $1", req.id)
        assert link is not None and dict(link) == {
            "original": call.linkedid, "callback": lid, "outcome": "reached"}
        counts = await r.repo.counts(req.requested_at, req.requested_at.replace(year=2100))
        assert (counts.requested, counts.made, counts.reached) == (1, 1, 1)
        await until(lambda: not r.live.state.snapshot(lambda n: n or "")["callbacks"])
        assert_runs_the_shipped_dialplan(r.sim.events)


def assert_runs_the_shipped_dialplan(events: list[dict[str, Any]]) -> None:
    """Every application the simulator ran for 810, the priority and callback subroutines
    and the callback's leg is one of the shipped dialplan's in that extension; AGI, Gosub,
    Queue, MixMonitor, Dial and Set at the same priority."""
    dp = shipped_dialplan()
    contexts = {"sub-queue-priority", "callback-support", "sub-callback", "callback-dial"}
    ran = [e for e in events if e.get("Event") == "Newexten" and e["Application"] != "NoOp"
           and (e["Context"] in contexts or e["Extension"] == "810")]
    assert {e["Context"] for e in ran} == contexts | {"from-trunk"}
    for e in ran:
        where = (e["Context"], e["Extension"], e["Priority"], e["Application"])
        same_app = [s for s in steps_for(dp, e) if s.app == e["Application"]]
        assert same_app, where
        if e["Application"] in {"AGI", "Gosub", "Queue", "MixMonitor", "Dial", "Set"}:
            assert any(s.priority == int(e["Priority"]) for s in same_app), where


async def test_the_callers_place_is_kept(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A asks for a callback, then B joins and waits, then C asks for a callback: when the
    agent frees, A's callback goes first, then B, then C's callback."""
    async with rig(pool, tmp_path) as r:
        pause_all(r.sim, but="agent1001")
        r.sim.set_agent("agent1001", AgentScript(answer_after=1.0, talk=20.0))
        r.sim.pbx.far_ends.update({n: OutboundScript("answer", ring=2.0, talk=5.0)
                                   for n in ("13800000501", "13800000503")})
        busy = await r.sim.inbound_call("13800000400", "800")
        await until(lambda: bool(r.events("AgentConnect")))
        await requested(r, "13800000501", wait=1.0)
        b = await r.sim.inbound_call("13800000502", "810")
        await until(lambda: any(e["CallerIDNum"] == "13800000502"
                                for e in r.events("QueueCallerJoin")))
        await requested(r, "13800000503", wait=1.0)
        assert await busy.wait() == "answered"
        assert await b.wait() == "answered"

        async def both_reached() -> bool:
            return [x.status for x in await r.repo.open_requests()] == []

        await until(both_reached, 60)
        order = [(e["Event"], e["CallerIDNum" if e["Event"] == "AgentConnect" else "Exten"])
                 for e in r.sim.events
                 if e.get("Event") == "AgentConnect" or (e.get("Event") == "Newchannel"
                 and str(e.get("Linkedid", "")).startswith("cc-cb-")
                 and e["Channel"].startswith("PJSIP/agent"))]
        assert order == [("AgentConnect", "13800000400"),
                         ("Newchannel", "13800000501"),
                         ("AgentConnect", "13800000502"),
                         ("Newchannel", "13800000503")]


async def test_customer_no_answer_retries_then_gives_up(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with rig(pool, tmp_path) as r:
        pause_all(r.sim, but="agent1001")
        r.sim.set_agent("agent1001", AgentScript(answer_after=1.0, talk=10.0))
        r.sim.pbx.far_ends["13800000501"] = OutboundScript("no_answer", ring=5.0)
        busy = await r.sim.inbound_call("13800000400", "800")
        await until(lambda: bool(r.events("AgentConnect")))
        await requested(r, "13800000501", wait=1.0)
        assert await busy.wait() == "answered"
        cid = (await r.row("SELECT id FROM callbacks"))["id"]  # type: ignore[index]

        async def given_up() -> bool:
            got = await r.repo.get(cid)
            return got is not None and got.status == "gave_up"

        await until(given_up, 60)
        got = await r.repo.get(cid)
        assert got is not None and (got.disposition, got.attempts) == ("no_contact", 2)
        attempts = await r.repo.attempts(cid)
        assert [(a["linkedid"], a["outcome"]) for a in attempts] == [
            (callback_linkedid(cid, 1), "no_answer"), (callback_linkedid(cid, 2), "no_answer")]
        originates = [a["ChannelId"] for a in r.sim.actions if a.get("Action") == "Originate"]
        assert originates == [callback_linkedid(cid, 1), callback_linkedid(cid, 2)]
        counts = await r.repo.counts(got.requested_at, got.requested_at.replace(year=2100))
        assert (counts.requested, counts.made, counts.reached) == (1, 1, 0)


async def test_a_callback_being_placed_when_the_daemon_stops_is_not_placed_twice(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The daemon stops while the agent's phone rings for a callback (the attempt is
    stored, the Originate has left); the next run finds the call going on, waits for its
    end and marks the callback reached, without a second Originate."""
    async with rig(pool, tmp_path, agent_ring_s=60) as r:
        pause_all(r.sim, but="agent1001")
        first_call = AgentScript(answer_after=1.0, talk=10.0)
        r.sim.set_agent("agent1001", AgentScript(answer_after=40.0, talk=10.0))
        busy = await r.sim.inbound_call("13800000400", "800", agents={"agent1001": first_call})
        await until(lambda: bool(r.events("AgentConnect")))
        await requested(r, "13800000501", wait=1.0)
        assert await busy.wait() == "answered"
        await until(lambda: any(a.get("Action") == "Originate" for a in r.sim.actions))
        await r.daemon.stop()
        settings = r.daemon.settings
        service = callback_consumer(settings, pool)
        r.live = LiveConsumer.from_settings(settings)
        r.daemon = Daemon(settings, pool, consumers=[r.live, service], log_calls=False)
        await r.daemon.start()
        (req,) = await r.repo.open_requests()
        assert (req.status, req.dialling) == ("dialling", callback_linkedid(req.id, 1))

        async def reached() -> bool:
            got = await r.repo.get(req.id)
            return got is not None and got.status == "reached"

        await until(reached, 60)
        originates = [a["ChannelId"] for a in r.sim.actions if a.get("Action") == "Originate"]
        assert originates == [callback_linkedid(req.id, 1)]
        assert [a["outcome"] for a in await r.repo.attempts(req.id)] == ["reached"]
