"""Call records as JSON: the shape of ``callcenter calls --json``.

Times as ISO 8601 UTC strings, durations in seconds (rounded to the
millisecond), transfers as ``{type, from, to}``; ``unknown`` lists the parts
not observed (their figures are null: see :mod:`callcenter.calls.evidence`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callcenter.calls.model import CallRecord, RingAttempt, Violation


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _secs(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def attempt_to_json(a: RingAttempt) -> dict[str, Any]:
    """One ring attempt: who rang, when, how long, how many rings, how it ended."""
    return {"agent": a.agent, "interface": a.interface, "queue": a.queue,
            "started_at": _iso(a.started_at), "ring_s": _secs(a.ring_s), "rings": a.rings,
            "outcome": a.outcome, "within_rule": a.within_rule}


def violation_to_json(v: Violation) -> dict[str, Any]:
    """One breach of the three-ring rule and the action taken (or not)."""
    return {"agent": v.agent, "interface": v.interface, "queue": v.queue,
            "ring_s": _secs(v.ring_s), "rings": v.rings, "deadline_s": v.deadline_s,
            "at": _iso(v.at), "action": v.action, "result": v.result, "detail": v.detail}


def record_to_json(c: CallRecord) -> dict[str, Any]:
    """The JSON object of one call (``callcenter calls --json``)."""
    return {
        "server": c.server, "linkedid": c.linkedid, "direction": c.direction,
        "caller": c.caller, "caller_name": c.caller_name, "callee": c.callee,
        "queue": c.queue, "queues": list(c.queues), "agent": c.agent,
        "started_at": _iso(c.started_at), "answered_at": _iso(c.answered_at),
        "ended_at": _iso(c.ended_at), "wait_s": _secs(c.wait_s), "talk_s": _secs(c.talk_s),
        "hold_s": _secs(c.hold_s), "hangup_by": c.hangup_by, "hangup_cause": c.hangup_cause,
        "disposition": c.disposition, "incomplete_reason": c.incomplete_reason,
        "unknown": list(c.unknown), "recordings": list(c.recordings),
        "transfers": [{"type": t.type, "from": t.from_agent, "to": t.to_agent}
                      for t in c.transfers],
        "ring_attempts": [attempt_to_json(a) for a in c.ring_attempts],
        "violations": [violation_to_json(v) for v in c.violations],
        "survey_offered": c.survey_offered, "survey_score": c.survey_score,
    }

