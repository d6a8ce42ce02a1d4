"""Domain model: call records and the facts the tracker emits.

Plain dataclasses, no I/O. Times are timezone-aware UTC datetimes; durations
are float seconds. Consumers (store, ringrule, live, recordings, qa) depend on
these types, never on raw AMI dictionaries.

A record names the parts of its call that were not observed in
:attr:`CallRecord.unknown` (values of :data:`UNKNOWN_PARTS`); a figure that
depends on one is None, never 0 or a bound. The tracker decides which parts
are unknown (see :mod:`callcenter.calls.evidence`); a record derived from
complete evidence has ``unknown == []``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Direction = Literal["inbound", "outbound", "internal"]
Disposition = Literal[
    "answered", "abandoned", "timeout", "no_agents", "no_answer", "busy", "failed", "incomplete",
    "callback_requested",
]
RingOutcome = Literal["answered", "no_answer", "caller_hangup", "cancelled", "busy", "unavailable"]
HangupBy = Literal["caller", "agent", "system"]
UnknownPart = Literal["start", "wait", "answer", "agent", "ring_attempts", "talk", "hold", "end"]
UNKNOWN_PARTS: tuple[UnknownPart, ...] = (
    "start", "wait", "answer", "agent", "ring_attempts", "talk", "hold", "end")
"""The parts of a call a record may lack, in the order ``unknown`` lists them."""
AgentStateName = Literal[
    "logged_out", "available", "ringing", "on_call", "wrap_up", "paused", "unavailable"
]


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """``end - start`` in seconds, or None when either is unknown."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


DEADLINE_GRACE_S = 0.5
"""A ring that ended this little after the deadline was cut at the deadline (app_queue's
member timeout ends it ~15.01 s after AgentCalled, the daemon's action lands ~15.03 s):
it counts as the rule's number of rings, not one more."""


def count_rings(ring_s: float, cycle_s: float) -> int:
    """Rings heard in ``ring_s`` seconds at a ring cycle of ``cycle_s`` (ceil, at least 1)."""
    return max(1, math.ceil(round(ring_s / cycle_s, 6)))


@dataclass(frozen=True)
class RingRule:
    """The three-ring rule for one queue (or for direct calls when queue is None)."""

    cycle_s: float = 5.0
    rings_allowed: int = 3
    queue_action: str = "hangup"
    """What enforcement does on a queue call: hangup (Cause 19) | record."""
    direct_action: str = "redirect"
    """What enforcement does on a direct call: redirect | hangup | record."""

    @property
    def deadline_s(self) -> float:
        """Seconds of ringing allowed."""
        return self.cycle_s * self.rings_allowed

    def rings(self, ring_s: float) -> int:
        """Rings heard in ``ring_s`` seconds; a ring cut at the deadline (up to
        :data:`DEADLINE_GRACE_S` late) is ``rings_allowed``, not one more."""
        rings = count_rings(ring_s, self.cycle_s)
        if ring_s <= self.deadline_s + DEADLINE_GRACE_S:
            rings = min(rings, self.rings_allowed)
        return rings


@dataclass
class RingAttempt:
    """One agent (or outside number) being rung for one call."""

    agent: str
    interface: str
    started_at: datetime
    queue: str | None = None
    channel: str | None = None
    uniqueid: str | None = None
    ended_at: datetime | None = None
    outcome: RingOutcome | None = None
    rings: int | None = None
    within_rule: bool | None = None

    @property
    def ring_s(self) -> float | None:
        """Seconds from the phone starting to ring to answer/cancel."""
        return seconds_between(self.started_at, self.ended_at)


@dataclass
class Transfer:
    """A blind or attended transfer, from one agent endpoint to another."""

    type: Literal["blind", "attended"]
    from_agent: str
    to_agent: str | None
    at: datetime


@dataclass
class Violation:
    """A breach of the three-ring rule by one ring attempt."""

    agent: str
    interface: str
    queue: str | None
    ring_s: float
    rings: int
    deadline_s: float
    at: datetime
    action: str = "none"
    """What was (or would be) done: hangup | redirect | none | asterisk (Asterisk moved on)."""
    result: str = "not_taken"
    """ok | failed | too_late | not_taken (replay, or the rule only records)."""
    detail: str = ""


@dataclass
class CallRecord:
    """One call: an Asterisk linkedid on one named server."""

    server: str
    linkedid: str
    started_at: datetime
    direction: Direction = "inbound"
    caller: str | None = None
    caller_name: str | None = None
    callee: str | None = None
    queue: str | None = None
    agent: str | None = None
    queue_joined_at: datetime | None = None
    answered_at: datetime | None = None
    talk_ended_at: datetime | None = None
    """When the agent who answered left the conversation (hang-up or transfer)."""
    ended_at: datetime | None = None
    """With ``end`` unknown: the latest moment known of (the call was closed there)."""
    hold_s: float | None = 0.0
    """Seconds on hold; None when part of the conversation was not observed."""
    hangup_by: HangupBy | None = None
    hangup_cause: int | None = None
    disposition: Disposition | None = None
    incomplete_reason: str | None = None
    recordings: list[str] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    ring_attempts: list[RingAttempt] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    unknown: list[UnknownPart] = field(default_factory=list)
    """The parts of the call not observed (:data:`UNKNOWN_PARTS`, in that order)."""
    survey_offered: bool = False
    """The post-call survey ran for this call (its ``UserEvent`` arrived)."""
    survey_score: int | None = None
    """The caller's 1-5; None when not offered, not answered or not a valid key."""

    @property
    def is_open(self) -> bool:
        """True while the call has not ended."""
        return self.ended_at is None

    @property
    def answered(self) -> bool:
        """True when an agent (or the far end) answered, even at a time not observed."""
        return self.answered_at is not None or "answer" in self.unknown

    @property
    def wait_s(self) -> float | None:
        """Inbound: queue/answer wait until the first agent answered (or the end);
        None when ``wait`` is unknown."""
        if "wait" in self.unknown:
            return None
        return seconds_between(self.started_at, self.answered_at or self.ended_at)

    @property
    def talk_s(self) -> float | None:
        """Seconds the answering agent talked (hold included): answer → leaving the call;
        None when ``talk`` is unknown.

        After a transfer the customer talks on with someone else; that is not
        this agent's talk time (the transfer target has its own ring attempt).
        """
        if "talk" in self.unknown:
            return None
        return seconds_between(self.answered_at, self.talk_ended_at or self.ended_at)

    def mark_unknown(self, *parts: UnknownPart) -> None:
        """Add ``parts`` to :attr:`unknown` (kept in :data:`UNKNOWN_PARTS` order)."""
        have = set(self.unknown) | set(parts)
        self.unknown = [p for p in UNKNOWN_PARTS if p in have]
        if "hold" in have:
            self.hold_s = None

    def mark_known(self, *parts: UnknownPart) -> None:
        """Remove ``parts`` from :attr:`unknown` (evidence filled them)."""
        self.unknown = [p for p in self.unknown if p not in parts]


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class Fact:
    """Something the tracker learned; ``at`` is the event time (UTC)."""

    server: str
    at: datetime


@dataclass(frozen=True)
class CallStarted(Fact):
    call: CallRecord


@dataclass(frozen=True)
class QueueCallerJoined(Fact):
    linkedid: str
    queue: str
    position: int


@dataclass(frozen=True)
class QueueCallerLeft(Fact):
    linkedid: str
    queue: str
    reason: Literal["answered", "abandoned", "timeout", "left"]


@dataclass(frozen=True)
class RingStarted(Fact):
    """An agent's phone started ringing; ringrule starts its deadline here."""

    linkedid: str
    attempt: RingAttempt
    caller_channel: str | None
    direct: bool
    """True for a direct Dial() to the agent (no queue)."""
    replayed: bool = False
    """Told again after a replay (a restart or takeover), not as it happened: its time is
    the ring's start, not a moment the event was received."""


@dataclass(frozen=True)
class RingEnded(Fact):
    linkedid: str
    attempt: RingAttempt


@dataclass(frozen=True)
class CallAnswered(Fact):
    call: CallRecord
    attempt: RingAttempt | None


@dataclass(frozen=True)
class RecordingAnnounced(Fact):
    """MixMonitor announced a file (as Asterisk sees the path)."""

    linkedid: str
    path: str
    channel: str


@dataclass(frozen=True)
class CallEnded(Fact):
    """The call is over (or closed as incomplete); ``call`` is final."""

    call: CallRecord


@dataclass(frozen=True)
class AgentStateChanged(Fact):
    """A queue member's state, as Asterisk reports it."""

    interface: str
    agent: str
    name: str | None
    queue: str | None
    state: AgentStateName
    paused: bool
    reason: str | None
    in_queue: bool


@dataclass(frozen=True)
class CallbacksWaiting(Fact):
    """The queue callbacks not placed or not reached yet: (queue, how many, the oldest
    request's time) per queue (``server`` empty: they are the centre's)."""

    waiting: tuple[tuple[str, int, datetime], ...]


ServiceProblem = Literal[
    "database_unreachable", "spool_write_failed", "store_data_dropped", "outage"]


@dataclass(frozen=True)
class ServiceAlert(Fact):
    """The service cannot do part of its job (``active``) or can again: the database does
    not answer (events wait in the spool), the spool's disk fails, data was dropped.
    ``server`` is empty for the shared store."""

    problem: ServiceProblem
    active: bool
    detail: str


# ---------------------------------------------------------------- monitoring (ChanSpy)

MonitorMode = Literal["listen", "whisper", "barge"]
MonitorOutcome = Literal["ended", "no_answer", "busy", "failed"]


@dataclass(frozen=True)
class CallWithdrawn(Fact):
    """``linkedid``, first taken for a call, is a supervisor's spy leg: it is no call."""

    linkedid: str


@dataclass(frozen=True)
class MonitoringStarted(Fact):
    """ChanSpy began on the call ``linkedid`` (its ``SpyeeLinkedid``); the spy leg is
    ``spy_linkedid``; ``mode`` None when the Originate's Data was not seen."""

    spy_linkedid: str
    linkedid: str
    spyer_channel: str
    spyee_channel: str
    mode: MonitorMode | None


@dataclass(frozen=True)
class MonitoringEnded(Fact):
    """The spy leg ``spy_linkedid`` is over: ``ended`` (it ran, or ChanSpy found nothing
    to spy on when ``linkedid`` is None), or the supervisor's phone did not take it."""

    spy_linkedid: str
    linkedid: str | None
    outcome: MonitorOutcome
    detail: str = ""
