"""Two days of stored calls for the report tests (the page, exports, unknowns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from callcenter.calls.model import CallRecord, RingAttempt, Transfer
from callcenter.store.calls import CallRepository

SH = ZoneInfo("Asia/Shanghai")


NOW = datetime(2026, 11, 4, 10, 1, tzinfo=SH).astimezone(UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)  # type: ignore[misc]


def s(t: datetime, secs: float) -> datetime:
    return t + timedelta(seconds=secs)


def answered_ring(agent: str, start: datetime, answer: datetime) -> RingAttempt:
    return RingAttempt(agent=agent, interface=f"PJSIP/{agent}", started_at=start,
                       ended_at=answer, outcome="answered", within_rule=True)


def calls() -> list[CallRecord]:
    a0 = local(2026, 11, 3, 23, 59)           # spans midnight: belongs to Nov 3, 23 h
    c0 = local(2026, 11, 3, 15, 59, 59)       # transferred from a1 to a2
    e0 = local(2026, 11, 3, 0, 30)            # 16:30 UTC on Nov 2, local Nov 3 0 h
    return [
        CallRecord(server="pbx", linkedid="A", started_at=a0, queue="support", agent="a2",
                   queue_joined_at=a0, answered_at=s(a0, 70), ended_at=s(a0, 370),
                   disposition="answered", ring_attempts=[answered_ring("a2", a0, s(a0, 70))]),
        CallRecord(server="pbx", linkedid="B", started_at=local(2026, 11, 4, 0, 0, 5),
                   queue="support", queue_joined_at=local(2026, 11, 4, 0, 0, 5),
                   ended_at=local(2026, 11, 4, 0, 0, 35), disposition="abandoned"),
        CallRecord(server="pbx", linkedid="C", started_at=c0, queue="sales", agent="a1",
                   queue_joined_at=c0, answered_at=s(c0, 5), ended_at=s(c0, 130),
                   disposition="answered",
                   transfers=[Transfer("blind", "a1", "a2", s(c0, 65))],
                   ring_attempts=[answered_ring("a1", c0, s(c0, 5)),
                                  answered_ring("a2", s(c0, 66), s(c0, 70))]),
        CallRecord(server="pbx", linkedid="D", started_at=local(2026, 11, 4, 10, 0),
                   queue="support", queue_joined_at=local(2026, 11, 4, 10, 0)),
        CallRecord(server="pbx", linkedid="E", started_at=e0, queue="support",
                   queue_joined_at=e0, ended_at=s(e0, 300), disposition="timeout"),
        CallRecord(server="pbx", linkedid="O", started_at=local(2026, 11, 4, 10, 0, 30),
                   direction="outbound", agent="a1", ended_at=local(2026, 11, 4, 10, 0, 50),
                   disposition="no_answer"),
    ]


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    """``pool`` holding the calls of ``calls()``."""
    await CallRepository(pool).upsert_calls(calls())
    return pool


QUERY = "period=range&from=2026-11-03&to=2026-11-04"
