"""The agent panel end to end: simulator → daemon (journal, tracker, store, agent feed) → web.

Queue log-in/out and pauses reach the PBX with the right fields and come back as
Asterisk's state; a pause made elsewhere shows up; the screen pop arrives within a
second of the ring; notes land on the call; click-to-call is an Originate whose
outbound call is linked to its follow-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from callcenter.agentpanel.feed import AgentFeed
from callcenter.agentpanel.web import attach_feed
from callcenter.ami.protocol import Frame
from callcenter.commands import CommandPort
from callcenter.ingest.daemon import Daemon
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.testing import SimClient
from callcenter.web.testing import web_client
from tests.support.settings import sim_settings

pytest.importorskip("callcenter.calls.tracker")

SPEED = 10.0
NEVER = AgentScript(answer_after=None)


async def until(cond: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``cond`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


class Events:
    """Reads a Server-Sent Events stream in the background, stamping each arrival."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self.items: list[tuple[float, str, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        name = ""
        async for raw in self.response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                self.items.append((time.monotonic(), name, json.loads(line[6:])))

    async def first(self, name: str, pred: Callable[[dict[str, Any]], bool] = lambda e: True,
                    timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        found = await until(lambda: next(((t, e) for t, n, e in self.items
                                          if n == name and pred(e)), None), timeout)
        return found  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.response.close()


@dataclass
class Rig:
    sim: PBXSimulator
    daemon: Daemon
    client: TestClient[Any, Any]
    pool: asyncpg.Pool

    def actions(self, name: str) -> list[Frame]:
        return [{k: v for k, v in a.items() if k != "ActionID"}
                for a in self.sim.actions if a.get("Action") == name]

    async def post(self, path: str, data: dict[str, Any] | None = None) -> ClientResponse:
        return await self.client.post(path, json=data or {},
                                      headers={"X-CSRF-Token": self.client.csrf})

    async def members(self) -> dict[str, dict[str, Any]]:
        state = await (await self.client.get("/api/agent/state")).json()
        return {m["queue"]: m for m in state["members"]}

    async def events(self) -> Events:
        resp = await self.client.get("/agent/events")
        assert resp.status == 200
        stream = Events(resp)
        await until(lambda: self.feed().subscribers("agent1001"))
        return stream

    def feed(self) -> AgentFeed:
        return next(c for c in self.daemon.consumers if isinstance(c, AgentFeed))


@pytest.fixture
async def rig(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Rig]:
    sim = PBXSimulator(speed=SPEED, keep_events=True, auth_fail_delay=0.01, systemname="sim")
    await sim.start()
    settings = sim_settings(sim, tmp_path)
    daemon = Daemon(settings, pool, consumers=[AgentFeed()], log_calls=False)
    await daemon.start()
    try:
        async with web_client(settings, pool, role="agent",
                              commands=CommandPort(daemon.clients)) as client:
            attach_feed(client.app, daemon.consumers)
            r = Rig(sim, daemon, client, pool)
            await until(lambda: r.members(), timeout=10)
            yield r
    finally:
        await daemon.stop()
        await sim.stop()


async def test_queue_log_in_out_and_pause_reach_the_pbx(rig: Rig) -> None:
    members = await until(lambda: _has(rig, "billing"))
    assert members["billing"]["in_queue"]
    left = await rig.post("/api/agent/presence/leave", {"queue": "billing"})
    assert left.status == 200 and (await left.json())["ok"]
    assert rig.actions("QueueRemove") == [
        {"Action": "QueueRemove", "Queue": "billing", "Interface": "PJSIP/agent1001"}]
    await until(lambda: _where(rig, "billing", lambda m: not m["in_queue"]))

    joined = await rig.post("/api/agent/presence/join", {"queue": "billing"})
    assert joined.status == 200
    assert rig.actions("QueueAdd") == [
        {"Action": "QueueAdd", "Queue": "billing", "Interface": "PJSIP/agent1001",
         "MemberName": rig.client.username, "Paused": "false"}]  # type: ignore[attr-defined]
    await until(lambda: _where(rig, "billing", lambda m: m["in_queue"]))
    again = await rig.post("/api/agent/presence/join", {"queue": "billing"})
    # our own sentence, in the user's language; Asterisk's reply only in the audit log
    said = (await again.json())["message"]
    assert again.status == 502 and said == "您已在队列 billing 中，未作任何更改。"
    assert "Already there" in await rig.pool.fetchval(
        "SELECT details->>'message' FROM audit_log WHERE action = 'queue_join'"
        " ORDER BY id DESC LIMIT 1")
    unknown = await rig.post("/api/agent/presence/join", {"queue": "nosuch"})
    assert unknown.status == 400

    bad = await rig.post("/api/agent/presence/pause", {"reason": "nap"})
    assert bad.status == 400 and "reason" in (await bad.json())["errors"]
    paused = await rig.post("/api/agent/presence/pause", {"reason": "lunch"})
    assert paused.status == 200 and (await paused.json())["message"] == "已示忙：午餐。"
    assert rig.actions("QueuePause")[-1] == {"Action": "QueuePause",
                                             "Interface": "PJSIP/agent1001",
                                             "Paused": "true", "Reason": "lunch"}
    await until(lambda: _where(rig, "support",
                               lambda m: m["paused"] and m["reason"] == "lunch"))
    resumed = await rig.post("/api/agent/presence/unpause")
    assert resumed.status == 200
    assert (await resumed.json())["message"] == "已取消示忙，可以接听来电了。"
    assert rig.actions("QueuePause")[-1] == {"Action": "QueuePause",
                                             "Interface": "PJSIP/agent1001",
                                             "Paused": "false"}
    await until(lambda: _where(rig, "support", lambda m: not m["paused"]))


async def _has(rig: Rig, queue: str) -> dict[str, dict[str, Any]] | None:
    members = await rig.members()
    return members if queue in members else None


async def _where(rig: Rig, queue: str, pred: Callable[[dict[str, Any]], bool]) -> bool:
    member = (await rig.members()).get(queue)
    return member is not None and pred(member)


async def test_a_pause_made_elsewhere_shows_up(rig: Rig) -> None:
    stream = await rig.events()
    try:
        supervisor = await SimClient.connect(rig.sim.port)
        await supervisor.login()
        await supervisor.action({"Action": "QueuePause", "Interface": "PJSIP/agent1001",
                                 "Paused": "true", "Reason": "coaching"})
        _, event = await stream.first("state", lambda e: e["paused"])
        assert (event["reason"], event["interface"]) == ("coaching", "PJSIP/agent1001")
        await until(lambda: _where(rig, "support",
                                   lambda m: m["paused"] and m["reason"] == "coaching"))
        await supervisor.close()
    finally:
        await stream.close()


async def test_screen_pop_within_a_second_then_notes_on_the_call(rig: Rig) -> None:
    made = await rig.client.post("/agent/customers/new", allow_redirects=False, data={
        "csrf_token": rig.client.csrf, "name": "Wang Wei",  # type: ignore[attr-defined]
        "phones": "13800000001"})
    assert made.status == 303
    rang: dict[str, float] = {}
    emit = rig.sim.pbx.emit

    def stamped(frame: Frame) -> None:
        if frame.get("Event") in ("AgentCalled", "DialBegin") and "agent1001" in str(
                frame.get("DestChannel")):
            rang.setdefault("at", time.monotonic())
        emit(frame)

    rig.sim.pbx.emit = stamped  # type: ignore[method-assign]
    stream = await rig.events()
    try:
        call = await rig.sim.inbound_call("+8613800000001", "800", agents={
            "agent1001": AgentScript(answer_after=2, talk=3),
            "agent1002": NEVER, "agent1003": NEVER})
        arrived, pop = await stream.first("ring", lambda e: e["linkedid"] == call.linkedid)
        assert arrived - rang["at"] < 1.0, f"screen pop after {arrived - rang['at']:.3f} s"
        assert (pop["caller"], pop["queue"]) == ("+8613800000001", "support")
        assert pop["customer"]["name"] == "Wang Wei"
        assert pop["history"] == []  # the ringing call itself is not history
        await stream.first("ended", lambda e: e["linkedid"] == call.linkedid)
    finally:
        await stream.close()
    assert await call == "answered"
    page = f"/agent/calls/sim/{call.linkedid}"
    await until(lambda: _status_ok(rig, page))
    saved = await rig.client.post(page, allow_redirects=False, data={
        "csrf_token": rig.client.csrf, "category": "repair",  # type: ignore[attr-defined]
        "content": "router broken", "result": "engineer booked"})
    assert saved.status == 303
    row = await rig.pool.fetchrow("SELECT server, linkedid, agent, customer_id FROM call_notes")
    assert (row["server"], row["linkedid"], row["agent"]) == ("sim", call.linkedid,
                                                              "agent1001")
    assert row["customer_id"] is not None
    history = await (await rig.client.get(
        "/api/agent/screen-pop?number=13800000001")).json()
    assert [(n["category"], n["content"]) for c in history["history"] for n in c["notes"]] == [
        ("repair", "router broken")]


async def _status_ok(rig: Rig, path: str) -> bool:
    return (await rig.client.get(path)).status == 200


async def test_click_to_call_originates_and_links_the_outbound_call(rig: Rig) -> None:
    rig.sim.pbx.agents["PJSIP/agent1001"].script = AgentScript(answer_after=1, talk=2)
    due = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    added = await rig.client.post("/agent/follow-ups", allow_redirects=False, data={
        "csrf_token": rig.client.csrf, "number": "+86 139 0000 0002",  # type: ignore[attr-defined]
        "due_on": due, "purpose": "satisfaction"})
    assert added.status == 303
    follow_up = (await (await rig.client.get("/api/agent/follow-ups")).json())[0]
    placed = await rig.post(f"/api/agent/follow-ups/{follow_up['id']}/call")
    assert placed.status == 200 and (await placed.json()) == {
        "ok": True, "message": "正在呼叫：您的话机先振铃，接起后再呼叫客户。"}
    (originate,) = rig.actions("Originate")
    assert originate == {"Action": "Originate", "Channel": "PJSIP/agent1001",
                         "Exten": "913900000002", "Context": "from-internal",
                         "Priority": "1", "Async": "true",
                         "Variable": f"FOLLOWUP_ID={follow_up['id']}"}
    call = await until(lambda: rig.pool.fetchrow(
        "SELECT linkedid, agent, callee FROM calls WHERE direction = 'outbound'"
        " AND ended_at IS NOT NULL"), timeout=15)
    assert call["agent"] == "agent1001"
    listed = (await (await rig.client.get("/api/agent/follow-ups")).json())[0]
    assert [c["linkedid"] for c in listed["calls"]] == [call["linkedid"]]
