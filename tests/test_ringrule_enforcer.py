"""The enforcer consumer on a fast fake clock with a scripted AMI client (no sockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.ami.client import ListResult
from callcenter.commands import CommandPort
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.settings import Settings
from tests.support.ringrule import (
    T0,
    FastClock,
    ScriptedClient,
    attempt,
    call_ended,
    call_started,
    ended,
    paused,
    started,
)
from tests.support.wait import until

SPEED = 100.0  # 15 s of ringing = 150 ms
POLL_S = 0.002  # the clock runs fast: conditions are polled finely


async def make(settings: Settings | None = None, replies=None, speed: float = SPEED, **kw):
    s = settings or Settings()
    clock = FastClock(speed)
    enf = RingEnforcer.from_settings(s, clock=clock, pause_settle_s=0.5, **kw)
    client = ScriptedClient(replies)
    enf.use_commands(CommandPort({"pbx3": client}))
    await enf.on_connect("pbx3", client)
    await enf.drain()
    client.sent.clear()
    clock.reset()
    return enf, client, clock


@pytest.mark.parametrize(("answer_at", "violations"), [(14.9, 0), (15.1, 1)])
async def test_answer_just_before_or_after_deadline(answer_at: float, violations: int) -> None:
    enf, client, clock = await make(speed=8.0)  # 0.1 s of ringing = 12.5 ms of a loaded machine
    a = attempt()
    await enf.on_facts([call_started(), started(a)])
    await clock.sleep_until(answer_at)
    await enf.on_facts([ended(a, "answered", answer_at)])
    await clock.sleep_until(20)
    await enf.drain()
    assert len(client.actions("Hangup")) == violations
    outs = enf.outcomes.get(("pbx3", "L1"), [])
    assert len(outs) == violations
    if violations:
        v = outs[0].violation
        assert (v.agent, v.queue, v.action, v.result, v.rings) == (  # cut at the deadline: 3
            "agent1001", "support", "hangup", "ok", 3)
        assert 15.0 <= v.ring_s < 15.1 and v.deadline_s == 15.0
        assert outs[0].sent == {"Action": "Hangup", "Channel": "PJSIP/agent1001-00000001",
                                "Cause": "19"}
    await enf.close()


async def test_quiet_for_gives_loop_seconds_to_the_next_deadline() -> None:
    enf, _client, _clock = await make()
    assert enf.quiet_for() is None
    await enf.on_facts([call_started(), started(attempt())])
    quiet = enf.quiet_for()
    assert quiet is not None and 0.1 < quiet <= 15.0 / SPEED  # 15 s of ringing at SPEED
    await enf.close()


async def test_rna_and_caller_hangup_clear() -> None:
    enf, client, clock = await make()
    a1, a2 = attempt(), attempt("agent1002", "PJSIP/agent1002-00000002", at=1.0)
    await enf.on_facts([started(a1), started(a2)])
    await clock.sleep_until(10)
    await enf.on_facts([ended(a1, "no_answer", 10), call_ended("L1", 12)])
    await clock.sleep_until(20)
    await enf.drain()
    assert client.sent == [] and len(enf.book) == 0
    await enf.close()


async def test_direct_call_redirects_to_fallback_label() -> None:
    enf, client, _clock = await make()
    a = attempt("agent1002", "PJSIP/agent1002-00000001", queue=None)
    await enf.on_facts([call_started(callee="1002"), started(a, direct=True)])
    await until(lambda: client.actions("Redirect"), every_s=POLL_S)
    await enf.drain()
    assert client.actions("Redirect") == [{
        "Action": "Redirect", "Channel": "PJSIP/trunk-00000000", "Context": "from-trunk",
        "Exten": "1002", "Priority": "toqueue"}]
    assert client.actions("Hangup") == []
    assert enf.outcomes[("pbx3", "L1")][0].violation.action == "redirect"
    await enf.close()


async def test_direct_call_hangup_variant_sends_cause_19() -> None:
    s = Settings.model_validate({"ring": {"direct_action": "hangup"}})
    enf, client, _clock = await make(s)
    a = attempt("agent1002", "PJSIP/agent1002-00000001", queue=None)
    await enf.on_facts([started(a, direct=True)])
    await until(lambda: client.actions("Hangup"), every_s=POLL_S)
    await enf.drain()
    assert client.actions("Hangup") == [
        {"Action": "Hangup", "Channel": "PJSIP/agent1002-00000001", "Cause": "19"}]
    await enf.close()


async def test_record_only_and_outbound_take_no_action() -> None:
    s = Settings.model_validate({"queues": {"vip": {"on_deadline": "record"}}})
    enf, client, clock = await make(s)
    await enf.on_facts([started(attempt(queue="vip"))])
    await enf.on_facts([call_started("L2", direction="outbound"),
                        started(attempt(chan="PJSIP/trunk-00000005", queue=None), "L2")])
    await until(lambda: ("pbx3", "L1") in enf.outcomes, every_s=POLL_S)
    await clock.sleep_until(enf.clock.now() - T0.timestamp() + 1.0)
    await enf.drain()
    assert client.sent == []
    [out] = enf.outcomes[("pbx3", "L1")]
    assert (out.violation.action, out.violation.result) == ("none", "not_taken")
    assert ("pbx3", "L2") not in enf.outcomes
    await enf.close()


@pytest.mark.parametrize(
    ("reply", "result", "detail"),
    [
        ({"Response": "Error", "Message": "No such channel"}, "too_late", "No such channel"),
        ({"Response": "Error", "Message": "Permission denied"}, "failed", "Permission denied"),
        (TimeoutError("no response in 10 s"), "failed", "timeout"),
        (ConnectionResetError("gone"), "failed", "ConnectionResetError"),
        (RuntimeError("a client bug"), "failed", "RuntimeError: a client bug"),  # still recorded
    ],
)
async def test_action_results_recorded_never_retried(reply, result: str, detail: str) -> None:
    enf, client, clock = await make(replies={"Hangup": reply})
    await enf.on_facts([started(attempt())])
    await until(lambda: client.actions("Hangup"), every_s=POLL_S)
    await clock.sleep_until(enf.clock.now() - T0.timestamp() + 5.0)
    await enf.drain()
    assert len(client.actions("Hangup")) == 1
    v = enf.outcomes[("pbx3", "L1")][0].violation
    assert v.result == result and detail in v.detail
    await enf.close()


async def test_no_client_is_a_failure_not_a_crash() -> None:
    enf = RingEnforcer.from_settings(Settings(), clock=FastClock(SPEED))
    await enf.on_facts([started(attempt())])
    await asyncio.sleep(16 / SPEED)
    await enf.drain()
    assert enf.outcomes[("pbx3", "L1")][0].violation.result == "failed"
    await enf.close()


async def miss_twice(enf, clock, agent="agent1001", queue="support", extra=()):
    for i, (lid, chan) in enumerate([("L1", "00000001"), ("L2", "00000004")]):
        a = attempt(agent, f"PJSIP/{agent}-{chan}", queue=queue, at=25.0 * i)
        await enf.on_facts([started(a, lid)])
        await until(lambda n=i + 1: len(enf.outcomes) == n, every_s=POLL_S)
        # the tracker then reports the cut ring as a ring-no-answer: counted once
        await enf.on_facts([ended(a, "no_answer", 15.003, lid), *extra])
    await until(lambda: enf.alerts, every_s=POLL_S)
    await enf.drain()


async def test_two_misses_pause_everywhere_and_alert() -> None:
    alerts = []
    enf, client, clock = await make(on_alert=alerts.append)
    await miss_twice(enf, clock)
    assert len(client.actions("Hangup")) == 2
    assert client.actions("QueuePause") == [{"Action": "QueuePause", "Interface": "PJSIP/agent1001",
                                             "Paused": "true", "Reason": "ring-no-answer"}]
    [alert] = alerts
    assert (alert.kind, alert.interface, alert.misses, alert.action, alert.result) == (
        "agent_paused", "PJSIP/agent1001", 2, "pause", "ok")
    assert list(enf.alerts) == alerts
    await enf.close()


async def test_rings_the_pbx_cancelled_are_not_misses() -> None:
    """Rings the PBX ended itself (a queue wait running out, a restart: the tracker's
    ``cancelled``) never count toward the pause, however many there are."""
    enf, client, clock = await make()
    for i in range(3):
        a = attempt(chan=f"PJSIP/agent1001-0000000{i}", at=20.0 * i)
        await enf.on_facts([started(a, f"L{i}"), ended(a, "cancelled", 8.0, f"L{i}")])
    await clock.sleep_until(80)
    await enf.drain()
    assert client.actions("Hangup") == [] and client.actions("QueuePause") == []
    assert list(enf.alerts) == []
    await enf.close()


async def test_answer_between_misses_resets() -> None:
    enf, client, clock = await make()
    a = attempt()
    await enf.on_facts([started(a)])
    await until(lambda: enf.outcomes, every_s=POLL_S)  # the miss counts once the Hangup is answered
    b = attempt(chan="PJSIP/agent1001-00000002", at=16)
    await enf.on_facts([started(b, "L2")])
    await enf.on_facts([ended(b, "answered", 4, "L2")])
    c = attempt(chan="PJSIP/agent1001-00000003", at=30)
    await enf.on_facts([started(c, "L3")])
    await until(lambda: len(client.actions("Hangup")) == 2, every_s=POLL_S)
    await clock.sleep_until(enf.clock.now() - T0.timestamp() + 2.0)  # pause_settle_s passes
    await enf.drain()
    assert len(client.actions("Hangup")) == 2 and client.actions("QueuePause") == []
    await enf.close()


async def test_autopause_seen_is_not_doubled() -> None:
    enf, client, clock = await make()
    await miss_twice(enf, clock, extra=[paused("agent1001", "enforce_ap", "Auto-Pause")])
    assert client.actions("QueuePause") == []
    [alert] = enf.alerts
    assert alert.kind == "already_paused" and alert.result == "not_taken"
    await enf.close()


async def test_autopause_queue_from_config_is_not_doubled(tmp_path: Path) -> None:
    conf = tmp_path / "queues.conf"
    conf.write_text("[enforce_ap]\ntimeout=15\nautopause=yes\n", encoding="utf-8")
    enf, client, clock = await make(queues_conf=conf)
    await miss_twice(enf, clock, queue="enforce_ap")
    assert client.actions("QueuePause") == []
    assert enf.alerts[0].kind == "already_paused"
    await enf.close()


async def test_pause_too_late_and_failed() -> None:
    enf, _client, clock = await make(
        replies={"QueuePause": {"Response": "Error", "Message": "Interface not found"}})
    await miss_twice(enf, clock)
    assert enf.alerts[0].result == "too_late"
    await enf.close()


async def test_startup_check_warns_on_mismatch(tmp_path: Path) -> None:
    getconfig = {"Response": "Success", "Category-000000": "support",
                 "Line-000000-000000": "timeout=60", "Category-000001": "sales",
                 "Line-000001-000000": "timeout=15", "Category-000002": "gone",
                 "Line-000002-000000": "timeout=30"}
    summary = ListResult({"Response": "Success", "EventList": "start"}, [
        {"Event": "QueueSummary", "Queue": "support", "LoggedIn": "3"},
        {"Event": "QueueSummary", "Queue": "sales", "LoggedIn": "2"}])
    conf = tmp_path / "queues.conf"
    conf.write_text("[support]\ntimeout=15\n[sales]\ntimeout=20\n", encoding="utf-8")
    enf = RingEnforcer.from_settings(Settings(), clock=FastClock(SPEED), queues_conf=conf)
    client = ScriptedClient({"GetConfig": getconfig, "QueueSummary": summary})
    from structlog.testing import capture_logs
    with capture_logs() as logs:
        await enf.on_connect("pbx3", client)
        await enf.drain()
    got = {(m.queue, m.timeout_s, m.source) for m in enf.mismatches["pbx3"]}
    assert got == {("support", 60.0, "asterisk"), ("sales", 20.0, str(conf))}
    assert sum(e["event"] == "ring_policy_mismatch" for e in logs) == 2
    assert not client.actions("Command")  # read-only actions: no `command` class needed


async def test_startup_check_survives_errors_and_garbage(tmp_path: Path) -> None:
    enf = RingEnforcer.from_settings(Settings(), clock=FastClock(SPEED),
                                     queues_conf=tmp_path / "missing.conf")
    client = ScriptedClient({"QueueSummary": TimeoutError("x"),
                             "GetConfig": {"Response": "Error", "Message": "Config file not found"}})
    await enf.on_connect("pbx3", client)
    await enf.drain()
    assert enf.mismatches["pbx3"] == []


async def test_deadline_counts_from_event_time_when_frames_observed() -> None:
    """Facts arrive late (journal, batching); the deadline still counts from the ring event."""
    enf, client, clock = await make()
    handler_seen = []
    for frame in ({"Event": "Newstate", "Timestamp": f"{clock.now():.6f}"},
                  {"Event": "Newstate", "Timestamp": "garbage"}):
        enf.observe("pbx3", frame)  # as the daemon does for every frame received
        handler_seen.append(frame)
    await clock.sleep_until(2.0)  # the RingStarted fact reaches us 2 s after its event
    await enf.on_facts([started(attempt())])
    await until(lambda: client.actions("Hangup"), every_s=POLL_S)
    await enf.drain()
    assert len(handler_seen) == 2 and len(client.actions("Hangup")) == 1
    assert enf.outcomes[("pbx3", "L1")][0].violation.ring_s < 16.5  # not 17 s
    await enf.close()


async def test_skewed_pbx_clock_uses_receive_offset() -> None:
    """A PBX clock an hour behind (or a replay): the deadline is 15 s after receipt."""
    enf, client, clock = await make()
    a = attempt(at=-3600.0)
    await enf.on_facts([started(a)])
    await clock.sleep_until(10.0)
    assert client.sent == []
    await until(lambda: client.actions("Hangup"), every_s=POLL_S)
    await enf.drain()
    assert len(client.actions("Hangup")) == 1
    await enf.close()


async def test_queue_timeout_at_deadline_lets_asterisk_end_the_ring(tmp_path: Path) -> None:
    """queues.conf timeout = the deadline: app_queue's RNA comes first; we act only if it doesn't."""
    conf = tmp_path / "queues.conf"
    conf.write_text("[support]\ntimeout=15\n", encoding="utf-8")
    enf, client, _clock = await make(queues_conf=conf)
    a = attempt()
    b = attempt("agent1002", "PJSIP/agent1002-00000002")
    await enf.on_facts([started(a), started(b, "L2")])
    deadline = enf.book.next_deadline()
    await until(lambda: (enf.book.next_deadline() or 0) > deadline, every_s=POLL_S)  # deferred, not acted on
    assert client.sent == []
    await enf.on_facts([ended(a, "no_answer", 15.002)])  # Asterisk's own ring-no-answer
    await until(lambda: client.actions("Hangup"), every_s=POLL_S)
    await enf.drain()
    assert client.actions("Hangup") == [hangup_of(b)]
    assert ("pbx3", "L1") not in enf.outcomes
    assert enf.outcomes[("pbx3", "L2")][0].violation.ring_s >= 16.0
    await enf.close()


def hangup_of(a) -> dict[str, str]:
    return {"Action": "Hangup", "Channel": a.channel, "Cause": "19"}
