"""The console's query parsing (no database): number patterns, times, keysets, the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.console.filters import (
    FilterError,
    decode_keyset,
    encode_keyset,
    number_pattern,
    parse_calls,
    parse_violations,
)
from callcenter.console.timeline import timeline, unknown_fields
from callcenter.store.call_detail import CallDetail

TZ = "Asia/Shanghai"
NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.mark.parametrize(("text", "pattern"), [
    ("138*5678", "138%5678"), ("138****5678", "138%5678"), ("138…5678", "138%5678"),
    ("138...5678", "138%5678"), ("5678", "%5678%"), ("138 1234 5678", "%13812345678%"),
    ("+86 138-1234-5678", "%+8613812345678%"), ("*5678", "%5678"), ("138*", "138%")])
def test_number_pattern(text: str, pattern: str) -> None:
    assert number_pattern(text) == pattern


@pytest.mark.parametrize("text", ["12", "1*2", "abc", "138%5678", "138_5678", "1" * 33])
def test_number_pattern_refuses(text: str) -> None:
    with pytest.raises(FilterError) as err:
        number_pattern(text)
    assert err.value.field == "number"


def test_defaults_and_local_times() -> None:
    q = parse_calls({}, TZ, NOW)
    assert q.filter.start == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # 7 days, local
    assert q.filter.end is None and q.sort.key == "started" and q.sort.descending
    q = parse_calls({"from": "2026-12-05T14:30", "to": "2026-12-05"}, TZ, NOW)
    assert q.filter.start == datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    assert q.filter.end == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # the end of that day
    v, after = parse_violations({"agent": "agent1001"}, TZ, NOW)
    assert v.end == NOW and v.agent == "agent1001" and v.queue is None and after is None


@pytest.mark.parametrize("key", [
    (datetime(2026, 12, 5, 6, 30, 1, 250, tzinfo=UTC), "pbx1", "17.3"), (12.5, "pbx/2", "a,b")])
def test_keyset_round_trip(key: tuple[object, str, str]) -> None:
    sort = "started" if isinstance(key[0], datetime) else "wait"
    assert decode_keyset(encode_keyset(key), sort) == key  # type: ignore[arg-type]
    with pytest.raises(FilterError):  # a keyset of another sort is refused
        decode_keyset(encode_keyset(key), "wait" if sort == "started" else "started")  # type: ignore[arg-type]


def test_violation_keyset_round_trip() -> None:
    key = (datetime(2026, 12, 5, 6, 30, 15, tzinfo=UTC), "pbx1", "17.3", 2)
    _, after = parse_violations({"after": encode_keyset(key)}, TZ, NOW)
    assert after == key
    for bad in [(key[0], "pbx1", "17.3"), (key[0], "pbx1", "17.3", "2"), (1.5, "a", "b", 0)]:
        with pytest.raises(FilterError):
            parse_violations({"after": encode_keyset(bad)}, TZ, NOW)


def test_timeline_orders_events_and_knows_what_is_unknown() -> None:
    t = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    call = {"started_at": t, "direction": "inbound", "queue_joined_at": t, "queue": "sales",
            "answered_at": t + timedelta(seconds=20), "agent": "agent1001",
            "talk_ended_at": t + timedelta(seconds=50), "ended_at": t + timedelta(seconds=60),
            "hangup_by": "caller", "wait_s": 20.0, "talk_s": None, "hold_s": 0.0}
    detail = CallDetail(
        call, ring_attempts=[{"started_at": t, "agent": "agent1002"},
                             {"started_at": t + timedelta(seconds=17), "agent": "agent1001"}],
        violations=[{"at": t + timedelta(seconds=15), "agent": "agent1002"}],
        transfers=[{"at": t + timedelta(seconds=50), "type": "blind"}])
    kinds = [e.kind for e in timeline(detail)]
    assert kinds == ["started", "queued", "ring", "violation", "ring", "answered", "transfer",
                     "talk_ended", "ended"]
    assert unknown_fields(call) == {"talk_s"}  # hold 0 s is known, not unknown
    assert unknown_fields(call | {"unknown": ["hold_s"]}) == {"talk_s", "hold_s"}
