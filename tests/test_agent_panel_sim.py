"""The agent panel end to end: simulator → daemon (journal, tracker, store, agent feed) → web.

Queue log-in/out and pauses reach the PBX with the right fields and come back as
Asterisk's state; a pause made elsewhere shows up; the screen pop arrives within a
second of the ring; notes land on the call; click-to-call is an Originate whose
outbound call is linked to its follow-up.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from callcenter.ami.protocol import Frame
from callcenter.sim import AgentScript
from callcenter.sim.testing import SimClient
from tests.support.agent_panel import NEVER, Rig, members_of, rig, where
from tests.support.wait import until

__all__ = ["rig"]  # the fixture



async def test_queue_log_in_out_and_pause_reach_the_pbx(rig: Rig) -> None:
    members = await until(lambda: members_of(rig, "billing"))
    assert members["billing"]["in_queue"]
    left = await rig.post("/api/agent/presence/leave", {"queue": "billing"})
    assert left.status == 200 and (await left.json())["ok"]
    assert rig.actions("QueueRemove") == [
        {"Action": "QueueRemove", "Queue": "billing", "Interface": "PJSIP/agent1001"}]
    await until(lambda: where(rig, "billing", lambda m: not m["in_queue"]))

    joined = await rig.post("/api/agent/presence/join", {"queue": "billing"})
    assert joined.status == 200
    assert rig.actions("QueueAdd") == [
        {"Action": "QueueAdd", "Queue": "billing", "Interface": "PJSIP/agent1001",
         "MemberName": rig.client.username, "Paused": "false"}]  # type: ignore[attr-defined]
    await until(lambda: where(rig, "billing", lambda m: m["in_queue"]))
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
    await until(lambda: where(rig, "support",
                               lambda m: m["paused"] and m["reason"] == "lunch"))
    resumed = await rig.post("/api/agent/presence/unpause")
    assert resumed.status == 200
    assert (await resumed.json())["message"] == "已取消示忙，可以接听来电了。"
    assert rig.actions("QueuePause")[-1] == {"Action": "QueuePause",
                                             "Interface": "PJSIP/agent1001",
                                             "Paused": "false"}
    await until(lambda: where(rig, "support", lambda m: not m["paused"]))


async def test_a_pause_made_elsewhere_shows_up(rig: Rig) -> None:
    stream = await rig.events()
    try:
        supervisor = await SimClient.connect(rig.sim.port)
        await supervisor.login()
        await supervisor.action({"Action": "QueuePause", "Interface": "PJSIP/agent1001",
                                 "Paused": "true", "Reason": "coaching"})
        _, event = await stream.first("state", lambda e: e["paused"])
        assert (event["reason"], event["interface"]) == ("coaching", "PJSIP/agent1001")
        await until(lambda: where(rig, "support",
                                   lambda m: m["paused"] and m["reason"] == "coaching"))
        await supervisor.close()
    finally:
        await stream.close()


async def test_a_panel_closed_in_the_browser_stops_listening(rig: Rig) -> None:
    stream = await rig.events()  # waits until the panel listens
    await stream.close()
    await until(lambda: rig.feed().subscribers("agent1001") == 0)
    assert rig.feed().streams == 0


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
        " AND ended_at IS NOT NULL"), timeout_s=15)
    assert call["agent"] == "agent1001"
    listed = (await (await rig.client.get("/api/agent/follow-ups")).json())[0]
    assert [c["linkedid"] for c in listed["calls"]] == [call["linkedid"]]
