"""Call and agent-state facts for the KPI and report tests: a sample day, and a report query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.calls.model import AgentStateChanged, CallRecord, RingAttempt, Transfer, Violation
from callcenter.kpis import (
    ServiceLevelRules,
)
from callcenter.store import report_reads

T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


MS = ServiceLevelRules(service_level_s=20, denominator="offered_minus_short", short_abandon_s=5)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def ring(agent: str, start: float, end: float, outcome: str, within: bool | None = True
         ) -> RingAttempt:
    return RingAttempt(agent=agent, interface=f"PJSIP/{agent}", started_at=at(start),
                       ended_at=at(end), outcome=outcome, within_rule=within)  # type: ignore


def answered(lid: str, wait: float, talk: float, agent: str = "a1", hold: float = 0,
             start: float = 0) -> CallRecord:
    return CallRecord(server="pbx", linkedid=lid, started_at=at(start), queue="support",
                      agent=agent, queue_joined_at=at(start + 2),
                      answered_at=at(start + 2 + wait), ended_at=at(start + 2 + wait + talk),
                      hold_s=hold, disposition="answered",
                      ring_attempts=[ring(agent, start + 2, start + 2 + wait, "answered",
                                          wait <= 15)])


def unanswered(lid: str, wait: float, disposition: str) -> CallRecord:
    return CallRecord(server="pbx", linkedid=lid, started_at=at(0), queue="support",
                      queue_joined_at=at(0), ended_at=at(wait), disposition=disposition)  # type: ignore


def sample() -> list[CallRecord]:
    """Ten inbound calls, one outbound, one internal."""
    transferred = answered("c3", wait=12, talk=100, agent="a1")
    transferred.transfers = [Transfer("blind", "a1", "a2", at(2 + 12 + 40))]
    transferred.ring_attempts.append(ring("a2", 54, 57, "answered"))
    rna = answered("c4", wait=30, talk=60, agent="a2")
    rna.ring_attempts.insert(0, ring("a1", 2, 17, "no_answer", within=None))
    rna.violations = [Violation("a1", "PJSIP/a1", "support", 15.0, 3, 15.0, at(17))]
    open_answered = answered("c5", wait=8, talk=0)
    open_answered.ended_at = None
    waiting = CallRecord(server="pbx", linkedid="c6", started_at=at(100), queue="support",
                         queue_joined_at=at(100))
    outbound = CallRecord(server="pbx", linkedid="o1", started_at=at(0), direction="outbound",
                          agent="a1", answered_at=at(5), ended_at=at(65), disposition="answered")
    internal = CallRecord(server="pbx", linkedid="i1", started_at=at(0), direction="internal",
                          answered_at=at(1), ended_at=at(9))
    return [answered("c1", wait=5, talk=60, hold=10), answered("c2", wait=20, talk=120),
            transferred, rna, open_answered, waiting,
            unanswered("c7", 3, "abandoned"), unanswered("c8", 5, "abandoned"),
            unanswered("c9", 300, "timeout"), unanswered("c10", 40, "no_agents"),
            outbound, internal]


def state(agent: str, s: float, st: str, paused: bool = False, reason: str | None = None,
          in_queue: bool = True) -> AgentStateChanged:
    return AgentStateChanged(server="pbx", at=at(s), interface=f"PJSIP/{agent}", agent=agent,
                             name=None, queue="support", state=st, paused=paused,  # type: ignore
                             reason=reason, in_queue=in_queue)


TZ = "Asia/Shanghai"


def approx(d: dict[str, object]) -> dict[str, object]:
    return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in d.items()}


def query(**kw: object) -> report_reads.CallQuery:
    args = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1), "now": at(160),
            "tz": TZ, **kw}
    return report_reads.CallQuery(**args)  # type: ignore[arg-type]
