"""Live listen / whisper / barge end to end: web API → command port → simulator (ChanSpy)
→ tracker → store; the permission rules, the audit rows and the edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.calls.spying import is_spy_id
from callcenter.monitoring.access import may_stop
from callcenter.store.audit import AuditRepository
from callcenter.web.auth import Principal
from tests.support.monitoring import monitor_rig
from tests.support.wait import until


def originates(rig: Any) -> list[dict[str, Any]]:
    return [a for a in rig.sim.actions if a.get("Action") == "Originate"]


async def test_listen_whisper_barge_and_stop(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with monitor_rig(pool, tmp_path) as rig:
        await rig.set_softphone()
        call = await rig.live_call("agent1002")
        seen = []
        for mode, options in (("listen", "qES"), ("whisper", "qwES"), ("barge", "qBES")):
            resp = await rig.post("/api/monitoring/sessions", {
                "server": "sim", "linkedid": call.linkedid, "mode": mode})
            assert resp.status == 201, await resp.text()
            session = await resp.json()
            assert (session["status"], session["mode"]) == ("ringing", mode)
            action = originates(rig)[-1]
            assert (action["Channel"], action["Application"], action["Data"]) == (
                "PJSIP/supervisor2001", "ChanSpy", f"PJSIP/agent1002-,{options}")
            assert action["ChannelId"] == session["spy_linkedid"]
            assert is_spy_id(action["ChannelId"]) and action["Async"] == "true"
            active = await rig.session(session["id"], "active")
            assert active["started_at"] and active["linkedid"] == call.linkedid
            stop = await rig.post(f"/api/monitoring/sessions/{session['id']}/stop")
            assert stop.status == 200, await stop.text()
            hangup = [a for a in rig.sim.actions if a.get("Action") == "Hangup"][-1]
            assert hangup["Channel"] == session["spy_linkedid"]
            ended = await rig.session(session["id"], "ended")
            assert ended["outcome"] == "ended" and ended["ended_at"] > ended["started_at"]
            assert ended["stopped_by"] == rig.client.username
            again = await rig.post(f"/api/monitoring/sessions/{session['id']}/stop")
            assert again.status == 409 and (await again.json())["error"] == "already_ended"
            seen.append(session["spy_linkedid"])
        events = [e for e in rig.sim.events if e.get("Event") in ("ChanSpyStart", "ChanSpyStop")]
        assert [(e["Event"], e["SpyerLinkedid"], e["SpyeeLinkedid"]) for e in events] == [
            (name, lid, call.linkedid) for lid in seen for name in ("ChanSpyStart",
                                                                   "ChanSpyStop")]
        # the spy legs are no calls, in the store nor on the wallboard
        assert not [k for k in rig.live.state.open_calls if is_spy_id(k[1])]
        stored = await pool.fetch("SELECT linkedid FROM calls")
        assert not [r for r in stored if is_spy_id(r["linkedid"])]
        audit = await AuditRepository(pool).entries(object=f"call:sim/{call.linkedid}")
        assert sorted((e.action, e.details["mode"]) for e in audit) == sorted(
            [(a, m) for m in ("listen", "whisper", "barge")
             for a in ("monitoring_start", "monitoring_stop")])
        assert {e.actor for e in audit} == {rig.client.username}


async def test_supervisor_hangs_up_and_call_ends(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with monitor_rig(pool, tmp_path) as rig:
        await rig.set_softphone()
        call = await rig.live_call()
        first = await (await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": call.linkedid, "mode": "listen"})).json()
        await rig.session(first["id"], "active")
        assert rig.sim.supervisor_hangup("supervisor2001")
        assert (await rig.session(first["id"], "ended"))["outcome"] == "ended"
        second = await (await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": call.linkedid, "mode": "whisper"})).json()
        await rig.session(second["id"], "active")
        customer = rig.sim.pbx.channels[call.channel]
        customer.owner.post("hangup", customer, 16)  # the customer hangs up
        assert (await rig.session(second["id"], "ended"))["outcome"] == "ended"
        late = await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": call.linkedid, "mode": "listen"})
        assert late.status == 409 and (await late.json())["error"] == "too_late"


async def test_softphone_does_not_answer(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with monitor_rig(pool, tmp_path, ring_timeout_s=3.0) as rig:
        await rig.set_softphone()
        rig.sim.pbx.supervisors["PJSIP/supervisor2001"].answer_after = None
        call = await rig.live_call()
        session = await (await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": call.linkedid, "mode": "barge"})).json()
        failed = await rig.session(session["id"], "failed")
        assert failed["outcome"] == "no_answer" and failed["started_at"] is None
        assert originates(rig)[-1]["Timeout"] == "3000"
        assert not await pool.fetchval("SELECT count(*) FROM calls WHERE linkedid = $1",
                                       session["spy_linkedid"])


async def test_refusals(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with monitor_rig(pool, tmp_path) as rig:
        call = await rig.live_call()
        body = {"server": "sim", "linkedid": call.linkedid, "mode": "listen"}
        no_phone = await rig.post("/api/monitoring/sessions", body)
        assert no_phone.status == 400 and (await no_phone.json())["error"] == "no_softphone"
        await rig.set_softphone()
        bad = await rig.post("/api/monitoring/sessions", {**body, "mode": "shout"})
        assert bad.status == 400 and (await bad.json())["error"] == "bad_mode"
        gone = await rig.post("/api/monitoring/sessions", {**body, "linkedid": "sim-1.999"})
        assert gone.status == 409 and (await gone.json())["error"] == "too_late"
        no_csrf = await rig.client.post("/api/monitoring/sessions", json=body)
        assert no_csrf.status == 403
        missing = await rig.client.get("/api/monitoring/sessions/999999")
        assert missing.status == 404
        await rig.sim.stop_pbx()  # Asterisk down
        await until(lambda: not rig.daemon.clients["sim"].connected)
        down = await rig.post("/api/monitoring/sessions", body)
        assert down.status == 503 and (await down.json())["error"] == "pbx_down"
        assert not originates(rig)


@pytest.mark.parametrize(("role", "users", "status"), [
    ("qa", [], 403), ("agent", [], 403), ("qa", ["test_qa"], 201), ("admin", [], 201)])
async def test_who_may_monitor(pool: asyncpg.Pool, tmp_path: Path, role: str,
                               users: list[str], status: int) -> None:
    async with monitor_rig(pool, tmp_path, role=role, users=users) as rig:
        await rig.set_softphone()
        call = await rig.live_call("agent1002")
        resp = await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": call.linkedid, "mode": "listen"})
        assert resp.status == status, await resp.text()
        if status == 403:
            assert (await resp.json())["error"] == "forbidden" and not originates(rig)


def test_only_its_supervisor_or_an_admin_stops() -> None:
    assert may_stop(Principal("sup1", "supervisor", None, "en"), "sup1")
    assert not may_stop(Principal("sup2", "supervisor", None, "en"), "sup1")
    assert may_stop(Principal("root", "admin", None, "en"), "sup1")


async def test_errors_are_translated(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with monitor_rig(pool, tmp_path, role="qa") as rig:
        await pool.execute("UPDATE users SET language = 'zh' WHERE username = $1",
                           rig.client.username)
        resp = await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": "x", "mode": "listen"})
        assert resp.status == 403
        assert (await resp.json())["message"] == "您无权监听通话。"


async def test_call_ends_while_the_softphone_rings(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """ChanSpy finds nothing to spy on (option S): the session ends as too_late."""
    async with monitor_rig(pool, tmp_path) as rig:
        await rig.set_softphone()
        rig.sim.pbx.supervisors["PJSIP/supervisor2001"].answer_after = 3.0
        call = await rig.live_call()
        session = await (await rig.post("/api/monitoring/sessions", {
            "server": "sim", "linkedid": call.linkedid, "mode": "listen"})).json()
        customer = rig.sim.pbx.channels[call.channel]
        customer.owner.post("hangup", customer, 16)
        ended = await rig.session(session["id"], "ended")
        assert ended["outcome"] == "too_late" and ended["started_at"] is None
