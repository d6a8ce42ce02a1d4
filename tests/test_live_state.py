"""The wallboard's live state from hand-built facts (no I/O)."""

from __future__ import annotations

from datetime import timedelta

from callcenter.calls.alerts import SupervisorAlert
from callcenter.calls.model import (
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    QueueCallerJoined,
    QueueCallerLeft,
    RingAttempt,
)
from tests.support.live import T0, Clock, answered_call, at, member, new_state


def test_waiting_answered_and_abandoned_calls() -> None:
    clock = Clock(at(0))
    live = new_state(clock)
    caller = CallRecord("pbx1", "1.1", at(0), direction="inbound", caller="13812345678",
                        queue="support", queue_joined_at=at(0))
    assert live.apply([CallStarted("pbx1", at(0), caller),
                       QueueCallerJoined("pbx1", at(0), "1.1", "support", 1),
                       member("agent1001", "available", -60)])
    clock.now = at(12)
    snap = live.snapshot(lambda n: n or "")
    (q,) = snap["queues"]
    assert (q["name"], q["waiting"], q["longest_wait_s"], q["offered"]) == ("support", 1, 12, 1)
    assert q["agents"]["logged_in"] == q["agents"]["available"] == 1
    # the agent answers at 15 s, talks until 75 s
    record = answered_call("1.1", 0, 15, 75)
    record.ended_at = record.disposition = None
    live.apply([QueueCallerLeft("pbx1", at(15), "1.1", "support", "answered"),
                CallAnswered("pbx1", at(15), record, record.ring_attempts[0]),
                member("agent1001", "on_call", 15)])
    clock.now = at(30)
    snap = live.snapshot(lambda n: "MASKED" if n else "")
    (agent,) = snap["agents"]
    assert agent["state"] == "on_call" and agent["since"] == at(15).isoformat()
    assert agent["call"]["number"] == "MASKED" and agent["call"]["queue"] == "support"
    assert snap["queues"][0]["waiting"] == 0
    live.apply([CallEnded("pbx1", at(75), answered_call("1.1", 0, 15, 75)),
                member("agent1001", "available", 75)])
    # a caller abandons after 3 s (short), another after 40 s
    for lid, wait in (("1.2", 3), ("1.3", 40)):
        live.apply([CallEnded("pbx1", at(100 + wait), CallRecord(
            "pbx1", lid, at(100), direction="inbound", queue="support",
            queue_joined_at=at(100), ended_at=at(100 + wait), disposition="abandoned"))])
    clock.now = at(200)
    snap = live.snapshot(lambda n: n or "")
    q = snap["queues"][0]
    assert (q["offered"], q["answered"], q["abandoned"], q["short_abandoned"]) == (3, 1, 1, 1)
    assert q["service_level"] == 1 / 3  # answered within 20 s / offered
    assert (q["asa_s"], q["aht_s"], q["three_ring_rate"]) == (15, 60, 1.0)
    agent = snap["agents"][0]
    assert (agent["calls"], agent["talk_s"], agent["call"]) == (1, 60, None)
    assert snap["total"]["offered"] == 3


def test_ended_calls_count_once_and_seed_skips_counted_calls() -> None:
    clock = Clock(at(500))
    live = new_state(clock)
    call = answered_call("2.1", 0, 5, 65)
    live.apply([CallEnded("pbx1", at(65), call), CallEnded("pbx1", at(65), call)])
    live.seed([call, answered_call("2.2", 100, 110, 200), answered_call("2.3", 300, 310, 0)])
    q = live.snapshot(str)["queues"][0]
    assert (q["offered"], q["answered"]) == (3, 3)


def test_calls_of_another_day_and_day_rollover() -> None:
    clock = Clock(at(0))
    live = new_state(clock)
    yesterday = answered_call("3.1", -86400, -86390, -86300)
    live.seed([yesterday, answered_call("3.2", -30, -20, -10)])
    assert live.snapshot(str)["queues"][0]["offered"] == 1
    clock.now = T0 + timedelta(hours=14)  # past midnight in Shanghai (16:00 UTC)
    snap = live.snapshot(str)
    assert snap["day"] == "2026-12-03" and snap["queues"][0]["offered"] == 0


def test_paused_reasons_unreachable_softphone_and_alerts() -> None:
    live = new_state(Clock(at(10)))
    live.apply([member("agent1001", "paused", 0, paused=True, reason="lunch"),
                member("agent1002", "paused", 0, paused=True, reason="ring-no-answer"),
                member("agent1003", "unavailable", 0),
                member("agent1004", "logged_out", 0, in_queue=False),
                SupervisorAlert("pbx1", at(5), kind="agent_paused", interface="PJSIP/agent1002",
                                agent="agent1002", misses=2, linkedid="9.9", queue="support",
                                action="pause", result="ok")])
    snap = live.snapshot(str)
    q = snap["queues"][0]
    assert q["agents"]["logged_in"] == 3 and q["agents"]["paused"] == 2
    assert q["agents"]["unavailable"] == 1
    assert q["paused_reasons"] == {"lunch": 1, "ring-no-answer": 1}
    agents = {a["agent"]: a for a in snap["agents"]}
    assert agents["agent1003"]["unreachable"] and not agents["agent1001"]["unreachable"]
    assert agents["agent1001"]["reason"] == "lunch"
    assert agents["agent1004"]["state"] == "logged_out"
    assert agents["agent1002"]["alerts"] == 1
    assert snap["alerts"][0]["kind"] == "agent_paused" and snap["alerts"][0]["misses"] == 2


def test_state_since_only_moves_when_the_state_changes() -> None:
    live = new_state(Clock(at(100)))
    live.apply([member("agent1001", "available", 0, queue="support"),
                member("agent1001", "available", 50, queue="sales")])
    (agent,) = live.snapshot(str)["agents"]
    assert agent["since"] == at(0).isoformat() and agent["queues"] == ["sales", "support"]


def test_unknown_facts_do_not_bump_the_version() -> None:
    live = new_state(Clock(at(0)))
    version = live.version
    assert not live.apply([])
    assert live.version == version


def test_current_call_follows_transfers_and_outbound_agents() -> None:
    from callcenter.calls.model import RingEnded, Transfer

    live = new_state(Clock(at(100)))
    call = answered_call("4.1", 0, 10, 0)
    call.ended_at = call.disposition = None
    first = call.ring_attempts[0]
    second = RingAttempt("agent1002", "PJSIP/agent1002", at(40), ended_at=at(45),
                         outcome="answered")
    live.apply([CallStarted("pbx1", at(0), call), CallAnswered("pbx1", at(10), call, first)])
    call.transfers.append(Transfer("blind", "agent1001", "agent1002", at(40)))
    live.apply([RingEnded("pbx1", at(45), "4.1", second)])
    outbound = CallRecord("pbx1", "4.2", at(50), direction="outbound", caller="1003",
                          callee="13912345678", agent="agent1003", answered_at=at(60))
    dialled = RingAttempt("13912345678", "PJSIP/trunk", at(50), ended_at=at(60),
                          outcome="answered")
    live.apply([CallStarted("pbx1", at(50), outbound),
                CallAnswered("pbx1", at(60), outbound, dialled)])
    agents = {a["agent"]: a for a in live.snapshot(lambda n: f"<{n}>")["agents"]}
    assert agents["agent1001"]["call"] is None
    assert agents["agent1002"]["call"]["since"] == at(45).isoformat()
    assert agents["agent1003"]["call"]["number"] == "<13912345678>"
    assert "13912345678" not in agents


def test_board_clock_follows_event_time_running_ahead() -> None:
    live = new_state(Clock(at(0)))  # the simulator's time runs ahead of the wall clock
    call = CallRecord("pbx1", "6.1", at(100), direction="inbound", queue="support",
                      queue_joined_at=at(100))
    live.apply([CallStarted("pbx1", at(100), call),
                QueueCallerJoined("pbx1", at(100), "6.1", "support", 1),
                member("agent1001", "on_call", 130)])
    snap = live.snapshot(str)
    assert snap["now"] == at(130).isoformat()
    assert snap["queues"][0]["longest_wait_s"] == 30


def test_recording_alerts_are_kept_newest_first() -> None:
    from callcenter.calls.alerts import RecordingAlert

    live = new_state(Clock(at(10)))
    for i, status in enumerate(("missing", "corrupt")):
        assert live.apply([RecordingAlert("pbx1", at(i), linkedid=f"8.{i}",
                                          file_name=f"8.{i}.wav", status=status,
                                          attempts=4, detail="")])  # type: ignore[arg-type]
    alerts = live.snapshot(str)["recording_alerts"]
    assert [(a["file"], a["status"]) for a in alerts] == [("8.1.wav", "corrupt"),
                                                         ("8.0.wav", "missing")]
