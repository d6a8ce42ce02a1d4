"""The live wallboard's state in tests: a settable clock, timed facts, an answered call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from callcenter.calls.model import (
    AgentStateChanged,
    CallRecord,
    RingAttempt,
)
from callcenter.kpis import ServiceLevelRules
from callcenter.live.state import LiveState

T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def member(agent: str, state: str, s: float, *, queue: str = "support", paused: bool = False,
           reason: str | None = None, in_queue: bool = True) -> AgentStateChanged:
    return AgentStateChanged("pbx1", at(s), f"PJSIP/{agent}", agent, agent.title(), queue,
                             state, paused, reason, in_queue)  # type: ignore[arg-type]


def new_state(clock: Clock, **kw: Any) -> LiveState:
    ms = ServiceLevelRules(service_level_s=20, denominator="offered", short_abandon_s=5)
    return LiveState(ms, "Asia/Shanghai", clock, **kw)


def answered_call(lid: str, joined: float, answer: float, end: float, agent: str = "agent1001",
                  caller: str = "13812345678") -> CallRecord:
    attempt = RingAttempt(agent, f"PJSIP/{agent}", at(joined + 1), queue="support",
                          ended_at=at(answer), outcome="answered", rings=1, within_rule=True)
    return CallRecord("pbx1", lid, at(joined), direction="inbound", caller=caller,
                      queue="support", agent=agent, queue_joined_at=at(joined),
                      answered_at=at(answer), ended_at=at(end), disposition="answered",
                      ring_attempts=[attempt])
