"""Pure ring-rule logic: deadlines on a fake clock, misses, action results, policy, config."""

from __future__ import annotations

import pytest

from callcenter.calls.model import RingRule
from callcenter.ringrule.actions import (
    classify_response,
    direct_exten,
    hangup_action,
    pause_action,
    redirect_action,
)
from callcenter.ringrule.book import DeadlineBook, MissBook
from callcenter.ringrule.confcheck import (
    compare,
    parse_getconfig,
    parse_queues_conf,
    queues_from_summary,
)
from callcenter.ringrule.rules import rule_for_settings
from callcenter.settings import Settings
from tests.support.ringrule import SERVER, T0, attempt, call_ended, ended, started

RULE = RingRule()
START = T0.timestamp()


def book_with(a) -> DeadlineBook:
    book = DeadlineBook()
    book.start(started(a), RULE)
    return book


@pytest.mark.parametrize(("answer_at", "fires"), [(14.9, False), (15.1, True)])
def test_answer_before_deadline_fires_nothing(answer_at: float, fires: bool) -> None:
    a = attempt()
    book = book_with(a)
    assert book.due(START + 14.99) == []
    fired = []
    if fires:
        fired = book.due(START + 15.0)
    else:
        book.end(SERVER, "L1", ended(a, "answered", answer_at).attempt)
    fired += book.due(START + answer_at)
    assert bool(fired) is fires
    assert book.due(START + 100) == [] and len(book) == 0


def test_deadline_is_cycle_times_rings_from_ring_start() -> None:
    a = attempt(at=3.0)
    book = DeadlineBook()
    ring = book.start(started(a), RingRule(cycle_s=4.0, rings_allowed=2), offset=100.0)
    assert ring.deadline == pytest.approx(START + 3.0 + 100.0 + 8.0)
    assert book.next_deadline() == ring.deadline
    assert book.due(ring.deadline - 0.001) == []
    assert [r.key for r in book.due(ring.deadline)] == [ring.key]


def test_rna_and_call_end_clear_deadlines() -> None:
    a1, a2 = attempt(), attempt("agent1002", "PJSIP/agent1002-00000002")
    book = DeadlineBook()
    book.start(started(a1), RULE)
    book.start(started(a2), RULE)
    assert book.end(SERVER, "L1", ended(a1, "no_answer", 10).attempt) is not None
    assert len(book) == 1
    assert [r.attempt.agent for r in book.end_call(SERVER, "L1")] == ["agent1002"]
    assert book.next_deadline() is None and book.due(START + 60) == []
    book.start(started(attempt(chan="PJSIP/agent1001-00000009"), linkedid="L2"), RULE)
    book.end_call(SERVER, call_ended("L2").call.linkedid)
    assert len(book) == 0


def test_many_deadlines_fire_in_order() -> None:
    book = DeadlineBook()
    for i in range(1000):
        book.start(started(attempt(chan=f"PJSIP/agent1001-{i:08x}", at=(i * 7919) % 1000 / 100),
                           linkedid=f"L{i}"), RULE)
    fired = book.due(START + 1000)
    deadlines = [r.deadline for r in fired]
    assert len(fired) == 1000 and deadlines == sorted(deadlines)


def test_misses_consecutive_answer_resets_and_ring_counts_once() -> None:
    mb = MissBook(2)
    iface = "PJSIP/agent1001"
    assert mb.miss(SERVER, iface, (SERVER, "c1")) is False
    assert mb.miss(SERVER, iface, (SERVER, "c1")) is False  # the same ring: RNA after our cut
    mb.answered(SERVER, iface)
    assert mb.misses(SERVER, iface) == 0
    assert mb.miss(SERVER, iface, (SERVER, "c2")) is False
    assert mb.miss(SERVER, "PJSIP/agent1002", (SERVER, "c3")) is False  # other agent
    assert mb.miss(SERVER, iface, (SERVER, "c4")) is True
    assert mb.misses(SERVER, iface) == 0
    assert MissBook(0).miss(SERVER, iface, (SERVER, "c5")) is False  # 0 = never pause


def test_pause_not_doubled_when_autopause() -> None:
    mb = MissBook(2)
    iface = "PJSIP/agent1001"
    assert mb.pause_needed(SERVER, iface, "support") == (True, "")
    mb.set_paused(SERVER, iface, "enforce_ap", True, "Auto-Pause")
    needed, why = mb.pause_needed(SERVER, iface, "support")
    assert not needed and "autopause" in why
    mb.set_paused(SERVER, iface, "enforce_ap", False, "")
    assert mb.pause_needed(SERVER, iface, "support")[0]
    mb.autopause_queues.add((SERVER, "enforce_ap"))
    assert not mb.pause_needed(SERVER, iface, "enforce_ap")[0]
    assert mb.pause_needed(SERVER, iface, "support")[0]


@pytest.mark.parametrize(
    ("response", "result"),
    [
        ({"Response": "Success", "ActionID": "d-2", "Message": "Channel Hungup"}, "ok"),
        ({"Response": "Success", "Message": "Redirect successful"}, "ok"),
        ({"Response": "Success", "Message": "Interface paused successfully"}, "ok"),
        ({"Response": "Error", "ActionID": "d-2", "Message": "No such channel"}, "too_late"),
        ({"Response": "Error", "Message": "Channel does not exist: PJSIP/trunk-00000000"},
         "too_late"),
        ({"Response": "Error", "Message": "Interface not found"}, "too_late"),
        ({"Response": "Error", "Message": "Permission denied"}, "failed"),
        ({"Response": "Error"}, "failed"),
        ({"Message": "garbage"}, "failed"),
        ({}, "failed"),
    ],
)
def test_classify_response(response: dict[str, str], result: str) -> None:
    got, detail = classify_response(response)
    assert got == result
    if result == "failed" and response.get("Message"):
        assert response["Message"] in detail


def test_actions_have_cause_and_label() -> None:
    assert hangup_action("PJSIP/agent1001-1") == {
        "Action": "Hangup", "Channel": "PJSIP/agent1001-1", "Cause": "19"}
    assert redirect_action("PJSIP/trunk-0", "from-trunk", "1002", "toqueue")["Priority"] == "toqueue"
    p = pause_action("PJSIP/agent1001", "ring-no-answer")
    assert p == {"Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "true",
                 "Reason": "ring-no-answer"} and "Queue" not in p
    assert direct_exten("1002", "agent1003") == "1002"
    assert direct_exten(None, "agent1003") == "1003"
    assert direct_exten(None, "alice") is None


def test_rule_for_settings_applies_queue_overrides() -> None:
    s = Settings.model_validate({
        "ring": {"cycle_s": 4.0, "direct_action": "hangup"},
        "queues": {"sales": {"rings_allowed": 5}, "vip": {"on_deadline": "record"}},
    })
    rule_for = rule_for_settings(s)
    assert rule_for(None).deadline_s == 12.0 and rule_for(None).direct_action == "hangup"
    assert rule_for("sales").deadline_s == 20.0 and rule_for("sales").queue_action == "hangup"
    assert rule_for("vip").queue_action == "record" and rule_for("vip").direct_action == "record"
    assert rule_for("support") is rule_for("support")


QUEUES_CONF = """
[general]
persistentmembers = yes
timeout = 99 ; not a queue

[std](!)          ; template
strategy = rrmemory
timeout = 15

[support](std)
member => PJSIP/agent1001

[sales](std)
timeout=20
autopause=yes

[enforce]
strategy=rrmemory
"""


def test_queues_conf_block_comments_and_appended_sections() -> None:
    queues = parse_queues_conf("[q]\ntimeout = 12\n;--\ntimeout = 99\n--;\n[q](+)\nautopause = yes\n")
    assert (queues["q"].timeout_s, queues["q"].autopause) == (12.0, True)


def test_parse_queues_conf_and_compare() -> None:
    queues = parse_queues_conf(QUEUES_CONF)
    assert set(queues) == {"support", "sales", "enforce"}
    assert queues["support"].timeout_s == 15.0 and not queues["support"].autopause
    assert queues["sales"].timeout_s == 20.0 and queues["sales"].autopause
    assert queues["enforce"].effective_timeout_s == 15.0  # app_queue default
    s = Settings()
    mism = compare(queues, s.ring_settings_for, "queues.conf")
    assert [(m.queue, m.timeout_s, m.deadline_s) for m in mism] == [("sales", 20.0, 15.0)]
    s2 = Settings.model_validate({"queues": {"sales": {"rings_allowed": 4}}})
    assert compare(queues, s2.ring_settings_for, "x") == []
    assert compare(queues, s.ring_settings_for, "x", only={"support"}) == []


def test_parse_bad_conf_values_do_not_crash() -> None:
    queues = parse_queues_conf("[q]\ntimeout=abc\n=\n[broken\nnoequals\n")
    assert queues["q"].timeout_s is None


def test_parse_getconfig_and_queue_summary() -> None:
    resp = {
        "Response": "Success", "ActionID": "x",
        "Category-000000": "general", "Line-000000-000000": "persistentmembers=yes",
        "Category-000001": "support", "Line-000001-000000": "strategy=rrmemory",
        "Line-000001-000001": "timeout=60", "Line-000001-000002": "autopause=no",
        "Category-000002": "enforce_ap", "Line-000002-000000": "autopause=yes",
    }
    queues = parse_getconfig(resp)
    assert queues["support"].timeout_s == 60.0 and queues["enforce_ap"].autopause
    assert "general" not in queues
    events = [  # as real Asterisk 22 answers QueueSummary (tests/traces/real/ami_actions)
        {"Event": "QueueSummary", "Queue": "support", "LoggedIn": "3", "Available": "3",
         "Callers": "0", "HoldTime": "0", "TalkTime": "0", "LongestHoldTime": "0"},
        {"Event": "QueueSummary", "Queue": "sales", "LoggedIn": "2", "Available": "2"},
        {"Event": "QueueSummaryComplete", "EventList": "Complete", "ListItems": "2"},
    ]
    assert queues_from_summary(events) == {"sales", "support"}
    assert queues_from_summary([]) == set()


def test_deferred_ring_handed_out_again_unless_it_ends() -> None:
    book = DeadlineBook()
    a, b = attempt(), attempt("agent1002", "PJSIP/agent1002-00000002")
    book.start(started(a), RULE)
    book.start(started(b, "L2"), RULE)
    fired = book.due(START + 15.0)
    assert len(fired) == 2
    for ring in fired:
        book.defer(ring, START + 16.0)
    assert book.next_deadline() == START + 16.0 and book.due(START + 15.9) == []
    book.end(SERVER, "L1", ended(a, "no_answer", 15.001).attempt)
    [again] = book.due(START + 16.0)
    assert again.attempt.agent == "agent1002" and again.due_at == START + 16.0
    assert len(book) == 0


def test_clock_offset_ignores_bursts_follows_drift_and_resets_when_the_clock_goes_back() -> None:
    from callcenter.ringrule.book import ClockOffset

    off = ClockOffset(window_s=100.0, step_s=1.0)
    assert off.observe(5.02, event_ts=1000.0, now=1005.02) == 5.02
    # a burst: frames stamped on time reach us 2 s late; the offset does not move
    assert off.observe(7.0, event_ts=1001.0, now=1008.0) == 5.02
    assert off.observe(5.01, event_ts=1010.0, now=1015.01) == 5.01
    # drift: after a whole window, old samples no longer count
    assert off.observe(5.3, event_ts=1100.0, now=1105.3) == 5.01
    assert off.observe(5.3, event_ts=1160.0, now=1165.3) == 5.3
    # the PBX clock set back 30 s: stamps 30 s older than the newest seen
    assert off.observe(35.3, event_ts=1130.5, now=1165.8) == 35.3
