"""The live sync's messages: every fact a live state folds round-trips, messages fit a
notification, and a state's present rebuilds it elsewhere."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

from callcenter.calls.alerts import RecordingAlert, SupervisorAlert
from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    Fact,
    QueueCallerJoined,
    QueueCallerLeft,
    RingAttempt,
    RingEnded,
    RingStarted,
    ServiceAlert,
    Transfer,
    Violation,
)
from callcenter.kpis import ServiceLevelRules
from callcenter.live.present import present_facts
from callcenter.live.state import LiveState
from callcenter.live.wire import FACT_TYPES, LIMIT, hello, pack, synced, unpack

T0 = datetime(2025, 3, 4, 2, 0, 0, 123456, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def call(lid: str = "1.1", **kw: object) -> CallRecord:
    return CallRecord("pbxa", lid, t(0), caller="13800000000", caller_name="张三",
                      queue="support", queue_joined_at=t(0), **kw)  # type: ignore[arg-type]


def attempt(agent: str = "agent1001", **kw: object) -> RingAttempt:
    return RingAttempt(agent, f"PJSIP/{agent}", t(1), "support", **kw)  # type: ignore[arg-type]


def every_fact() -> list[Fact]:
    answered = call(agent="agent1001", answered_at=t(3), queues=["support"],
                    ring_attempts=[attempt(ended_at=t(3), outcome="answered", rings=1,
                                           within_rule=True)])
    ended = call(agent="agent1001", answered_at=t(3), ended_at=t(60), talk_ended_at=t(50),
                 disposition="answered", hangup_by="caller", hold_s=None, hangup_cause=16,
                 recordings=["1.1.wav"], unknown=["hold"],
                 transfers=[Transfer("blind", "agent1001", "agent1002", t(50))],
                 violations=[Violation("agent1003", "PJSIP/agent1003", "support", 16.0, 4,
                                       15.0, t(20), "hangup", "ok")])
    return [
        CallStarted("pbxa", t(0), call()),
        QueueCallerJoined("pbxa", t(0), "1.1", "support", 1),
        RingStarted("pbxa", t(1), "1.1", attempt(), "PJSIP/trunk-0001", False),
        RingEnded("pbxa", t(3), "1.1", attempt(ended_at=t(3), outcome="answered")),
        QueueCallerLeft("pbxa", t(3), "1.1", "support", "answered"),
        CallAnswered("pbxa", t(3), answered, attempt(ended_at=t(3), outcome="answered")),
        CallAnswered("pbxa", t(3), answered, None),
        CallEnded("pbxa", t(60), ended),
        AgentStateChanged("pbxa", t(4), "PJSIP/agent1001", "agent1001", None, "support",
                          "on_call", False, None, True),
        AgentStateChanged("pbxa", t(5), "PJSIP/agent1002", "agent1002", "李四", None,
                          "paused", True, "午餐", True),
        SupervisorAlert("pbxa", t(20), kind="agent_paused", interface="PJSIP/agent1003",
                        agent="agent1003", misses=2, linkedid="1.1", queue="support",
                        action="pause", result="ok", detail="QueuePause"),
        RecordingAlert("pbxa", t(70), linkedid="1.1", file_name="1.1.wav", status="missing",
                       attempts=3, detail="not found"),
    ]


def test_every_fact_type_round_trips() -> None:
    facts = every_fact()
    assert {type(f).__name__ for f in facts} == set(FACT_TYPES)
    messages, dropped = pack("one", facts, itertools.count(1))
    assert dropped == 0 and len(messages) == 1
    message = unpack(messages[0])
    assert (message.instance, message.seq, message.hello) == ("one", 1, False)
    assert message.facts == facts
    assert all(f.at.tzinfo is not None for f in message.facts)


def test_defaults_are_left_out() -> None:
    [text], _ = pack("one", [CallStarted("pbxa", t(0), CallRecord("pbxa", "1.1", t(0)))],
                     itertools.count(1))
    assert json.loads(text)["f"] == [["CallStarted", {
        "server": "pbxa", "at": t(0).isoformat(),
        "call": {"server": "pbxa", "linkedid": "1.1", "started_at": t(0).isoformat()}}]]


def test_messages_fit_a_notification_in_order_and_numbered() -> None:
    facts = [AgentStateChanged("pbxa", t(i), f"PJSIP/agent{i}", f"agent{i}", "名字" * 10,
                               "support", "available", False, None, True) for i in range(300)]
    messages, dropped = pack("one", facts, itertools.count(7))
    assert dropped == 0 and len(messages) > 5
    assert all(len(m.encode()) <= LIMIT for m in messages)
    decoded = [unpack(m) for m in messages]
    assert [m.seq for m in decoded] == list(range(7, 7 + len(messages)))
    assert [f for m in decoded for f in m.facts] == facts


def test_a_fact_too_long_is_compressed_or_dropped() -> None:
    rings = [attempt(f"agent{i}", ended_at=t(2), outcome="no_answer") for i in range(60)]
    long = CallEnded("pbxa", t(9), call(ring_attempts=rings, ended_at=t(9)))
    small = QueueCallerLeft("pbxa", t(9), "1.1", "support", "abandoned")
    messages, dropped = pack("one", [small, long, small], itertools.count(1))
    assert dropped == 0 and messages[1].startswith("z")
    assert [f for m in messages for f in unpack(m).facts] == [small, long, small]
    assert all(len(m) <= LIMIT for m in messages)
    _, dropped = pack("one", [small, long], itertools.count(1), limit=600)
    assert dropped == 1


def test_hello_and_what_is_synced() -> None:
    message = unpack(hello("two", 0))
    assert message.hello and message.instance == "two" and not message.facts
    assert not synced(ServiceAlert("pbxa", t(0), "outage", True, ""))
    assert not synced(RecordingAlert("", t(0), "", "x.wav", "orphaned", 1, ""))
    assert all(synced(f) for f in every_fact())


def test_the_present_of_a_state_rebuilds_it() -> None:
    ms = ServiceLevelRules()
    source = LiveState(ms, "UTC", clock=lambda: t(30))
    busy = call("1.2", agent="agent1001", answered_at=t(3))
    source.apply([
        AgentStateChanged("pbxa", t(1), "PJSIP/agent1001", "agent1001", "A", "support",
                          "available", False, None, True),
        AgentStateChanged("pbxa", t(2), "PJSIP/agent1001", "agent1001", "A", "sales",
                          "available", False, None, True),
        CallStarted("pbxa", t(2), busy),
        CallAnswered("pbxa", t(3), busy, attempt(ended_at=t(3), outcome="answered")),
        AgentStateChanged("pbxa", t(4), "PJSIP/agent1001", "agent1001", "A", "support",
                          "on_call", False, None, True),
        CallStarted("pbxa", t(5), call("1.3")),
        QueueCallerJoined("pbxa", t(5), "1.3", "support", 1),
        RingStarted("pbxa", t(6), "1.3", attempt("agent1002"), None, False),
        CallStarted("pbxb", t(5), CallRecord("pbxb", "9.9", t(5))),
    ])
    copy = LiveState(ms, "UTC", clock=lambda: t(30))
    copy.apply(present_facts(source, lambda server: server == "pbxa"))

    def board(state: LiveState) -> dict[str, object]:
        snap = state.snapshot(lambda n: n or "")
        return {k: snap[k] for k in ("queues", "total", "agents")}

    source.open_calls.pop(("pbxb", "9.9"))
    assert board(copy) == board(source)
