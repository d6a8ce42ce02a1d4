"""A call's timeline: what happened, in order, from the stored record (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callcenter.store.call_detail import CallDetail

ORDER = ("started", "queued", "ring", "violation", "answered", "transfer", "talk_ended",
         "ended")
"""Events at the same instant are shown in this order."""


@dataclass(frozen=True)
class Event:
    """One step of the call: ``kind`` in ORDER, at ``at`` (UTC), with its facts."""

    at: datetime
    kind: str
    facts: dict[str, Any] = field(default_factory=dict)


def timeline(detail: CallDetail) -> list[Event]:
    """The call's events by time: start, queue entry, each ring attempt (seconds, rings,
    outcome), each violation (action, result), answer, transfers, the agent leaving (with
    the hold time) and the end (who hung up)."""
    c = detail.call
    events = [Event(c["started_at"], "started", {"direction": c["direction"]})]
    if c.get("queue_joined_at"):
        events.append(Event(c["queue_joined_at"], "queued", {"queue": c.get("queue")}))
    events += [Event(a["started_at"], "ring", a) for a in detail.ring_attempts]
    events += [Event(v["at"], "violation", v) for v in detail.violations]
    if c.get("answered_at"):
        events.append(Event(c["answered_at"], "answered", {"agent": c.get("agent")}))
    events += [Event(t["at"], "transfer", t) for t in detail.transfers]
    if c.get("talk_ended_at") and c["talk_ended_at"] != c.get("ended_at"):
        events.append(Event(c["talk_ended_at"], "talk_ended", {"agent": c.get("agent")}))
    if c.get("ended_at"):
        events.append(Event(c["ended_at"], "ended", {"hangup_by": c.get("hangup_by"),
                                                     "cause": c.get("hangup_cause")}))
    return sorted(events, key=lambda e: (e.at, ORDER.index(e.kind)))


def unknown_fields(call: dict[str, Any]) -> set[str]:
    """The durations the record does not know: stored as NULL, or listed in the record's
    ``unknown`` column when it has one."""
    named = set(call.get("unknown") or ())
    return named | {k for k in ("wait_s", "talk_s", "hold_s") if call.get(k) is None}
