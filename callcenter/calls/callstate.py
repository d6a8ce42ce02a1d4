"""One open call's working state, and how a call is judged when it ends.

:class:`CallState` wraps the :class:`CallRecord` being built with what the
tracker needs only while the call is live (its channels, who is talking,
pending transfers, enforcement actions seen). The functions below are the
rules: the outcome of a ring attempt, the three-ring judgement of an attempt,
and the disposition / who hung up of a finished call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from callcenter.calls.model import (
    CallRecord,
    Disposition,
    HangupBy,
    RingAttempt,
    RingOutcome,
    RingRule,
    Transfer,
    Violation,
)

RNA_TOLERANCE_S = 0.5
"""A ring-no-answer this close to the deadline is the member timeout set to the deadline."""

SOFTHANGUP_SHUTDOWN = 4
"""``SoftHangupRequest`` ``Cause`` is Asterisk's soft-hangup flag, not a Q.850 cause:
``AST_SOFTHANGUP_SHUTDOWN`` (1 << 2) is the core hanging every channel up for a
``core restart`` / ``core stop`` (seen in real3/j_core_restart: Cause 4 on every channel,
then QueueCallerAbandon, Hangup Cause 0, no QUEUESTATUS, no HangupRequest)."""
PBX_SHUTDOWN = "the PBX shut down or restarted (SoftHangupRequest Cause 4, system shutdown)"
PBX_RESTARTED = "the PBX restarted (Shutdown event, Restart: True)"
PBX_STOPPED = "the PBX shut down (Shutdown event)"
JOINED_UNSEEN = ("joined mid-way: how the call went before was not seen, and nothing "
                 "after showed its outcome")
END_UNSEEN = "its end was not seen: the call was gone when the AMI link came back"
PBX_RESTARTED_UNSEEN = ("the PBX restarted while the AMI link was down (FullyBooted Uptime: "
                        "it started after the call's last event)")

DIAL_OUTCOMES: dict[str, RingOutcome] = {
    "ANSWER": "answered", "NOANSWER": "no_answer", "BUSY": "busy",
    "CHANUNAVAIL": "unavailable", "CONGESTION": "unavailable", "CANCEL": "cancelled",
}
UNANSWERED_DIAL: dict[str, Disposition] = {
    "BUSY": "busy", "NOANSWER": "no_answer", "CANCEL": "no_answer",
    "CHANUNAVAIL": "failed", "CONGESTION": "failed",
}
QUEUE_EXITS: dict[str, Disposition] = {
    "TIMEOUT": "timeout", "JOINEMPTY": "no_agents", "LEAVEEMPTY": "no_agents",
    "JOINUNAVAIL": "no_agents", "LEAVEUNAVAIL": "no_agents", "FULL": "failed",
}


@dataclass
class Enforcement:
    """An action we sent about a ring attempt and what came of it."""

    action: str
    result: str = "failed"
    detail: str = "no response"
    violation: Violation | None = None


@dataclass
class CallState:
    """A live call: its record and the bookkeeping that dies with it."""

    record: CallRecord
    originator: str | None = None
    """The channel that started the call (Uniqueid == Linkedid)."""
    customer: str | None = None
    """The customer's channel: the trunk leg (inbound: the originator; outbound: the dialled leg)."""
    channels: set[str] = field(default_factory=set)
    attempts: dict[str, RingAttempt] = field(default_factory=dict)
    """The latest ring attempt per rung channel."""
    direct: set[str] = field(default_factory=set)
    """Rung channels dialled directly (no queue)."""
    talking: set[str] = field(default_factory=set)
    """Agent-side channels that answered and are still in the conversation."""
    answer_channel: str | None = None
    hung_up: set[str] = field(default_factory=set)
    """Channels that asked to hang up (HangupRequest)."""
    hangup_by: HangupBy | None = None
    holds: dict[str, datetime] = field(default_factory=dict)
    queue_exit: Disposition | None = None
    left_queue: bool = True
    last_dial_status: str | None = None
    open_transfer: Transfer | None = None
    enforced: dict[str, Enforcement] = field(default_factory=dict)
    last_at: datetime | None = None
    pbx_ended: str | None = None
    """Why the PBX itself is ending the call (a restart or shutdown), once it said so."""
    joined: bool = False
    """First seen mid-way, or kept across an AMI outage: what went before was not observed,
    so bridges may tell of an answer (:mod:`callcenter.calls.evidence`)."""
    survey_answer_seen: bool = False
    """The post-call survey's UserEvent came (a repeated one is ignored)."""
    answer_seen: bool = False
    """The first answer itself was observed (DialEnd ANSWER / AgentConnect)."""
    bridges: dict[str, set[str]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    """Channels whose Hangup was seen."""
    """Bridge id → the call's channels seen in it (BridgeEnter/Leave, CoreShowChannel)."""

    @property
    def linkedid(self) -> str:
        return self.record.linkedid

    def customer_gone(self) -> bool:
        """True once the customer's channel asked to hang up."""
        return self.customer is not None and self.customer in self.hung_up

    def end_hold(self, channel: str, at: datetime) -> None:
        """Count the hold of ``channel`` (if any) up to ``at``."""
        since = self.holds.pop(channel, None)
        if since is not None and self.record.hold_s is not None:
            self.record.hold_s += max(0.0, (at - since).total_seconds())

    def open_attempts(self) -> list[tuple[str, RingAttempt]]:
        """(channel, attempt) of the attempts still ringing."""
        return [(ch, a) for ch, a in self.attempts.items() if a.outcome is None]


def pbx_ended_ring(cs: CallState, attempt: RingAttempt, outcome: RingOutcome, rule: RingRule,
                   *, enforced: Enforcement | None) -> bool:
    """True when the PBX ended an agent's ring for its own reasons, so that it is not the
    agent's miss (outcome ``cancelled``, never ``no_answer``).

    - The PBX is shutting down or restarting: app_queue reports one of the rings it cuts
      as a ring-no-answer (real3/j_core_restart: AgentRingNoAnswer RingTime 14000).
    - A ``no_answer`` that came clearly before the deadline, and not from an action of
      ours: neither the member timeout (set to the deadline) nor the daemon ended it, so
      the caller's queue wait ran out (app_queue still emits DialEnd NOANSWER and
      AgentRingNoAnswer, RingTime 1000-9000) or the dialplan's own Dial() timeout did.
    """
    if outcome not in ("no_answer", "caller_hangup") or enforced is not None:
        return False
    if cs.pbx_ended is not None:
        return not cs.customer_gone()
    return outcome == "no_answer" and (attempt.ring_s or 0.0) < rule.deadline_s - RNA_TOLERANCE_S


def judge_attempt(attempt: RingAttempt, rule: RingRule, *, direct: bool, applies: bool,
                  enforced: Enforcement | None) -> Violation | None:
    """Set ``rings`` and ``within_rule`` of an ended attempt; its violation, if any.

    The rule is broken when the phone rang longer than the deadline, or when
    the queue's member timeout (set to the deadline) ended it as ring-no-answer.
    ``applies`` is False for rings of outside numbers (outbound calls).
    """
    ring_s = attempt.ring_s or 0.0
    attempt.rings = rule.rings(ring_s)
    if not applies:
        return None
    deadline = rule.deadline_s
    broken = ring_s > deadline + 1e-6 or (
        attempt.outcome == "no_answer" and ring_s >= deadline - RNA_TOLERANCE_S)
    attempt.within_rule = not broken
    if not broken:
        return None
    if enforced is not None:
        action, result, detail = enforced.action, enforced.result, enforced.detail
    elif attempt.outcome == "no_answer":
        action, result, detail = "asterisk", "not_taken", "the queue's member timeout ended the ring"
    else:
        planned = rule.direct_action if direct else rule.queue_action
        action, result, detail = ("none" if planned == "record" else planned), "not_taken", ""
    violation = Violation(
        agent=attempt.agent, interface=attempt.interface, queue=attempt.queue,
        ring_s=round(ring_s, 3), rings=attempt.rings, deadline_s=deadline,
        at=attempt.started_at + timedelta(seconds=deadline), action=action, result=result,
        detail=detail)
    if enforced is not None:
        enforced.violation = violation
    return violation


def disposition(cs: CallState) -> Disposition:
    """How a finished call ended (see ``callcenter calls --json`` in docs/commands.md)."""
    r = cs.record
    if r.answered:
        return "answered"
    if cs.pbx_ended is not None and not cs.customer_gone():
        return "failed"
    if cs.queue_exit is not None:
        return cs.queue_exit
    if cs.joined and cs.last_dial_status is None and not cs.customer_gone():
        return "incomplete"
    if r.direction == "inbound" and (r.queue is not None or cs.customer_gone()):
        return "abandoned"
    return UNANSWERED_DIAL.get(cs.last_dial_status or "", "failed")


def hangup_by(cs: CallState) -> HangupBy:
    """Who ended the conversation: the last hang-up asked by the customer or a talking agent."""
    return cs.hangup_by or "system"


def transfer_target(cs: CallState, after: datetime, exclude: str) -> str | None:
    """The agent who took a transferred call: the latest answer since ``after``, else the first ring."""
    later = [a for a in cs.record.ring_attempts if a.started_at >= after and a.agent != exclude]
    answered = [a for a in later if a.outcome == "answered"]
    pick = answered[-1] if answered else (later[0] if later else None)
    return pick.agent if pick else None



def latest_time(record: CallRecord) -> datetime:
    """The latest moment a record knows of (where a call whose end was lost is closed)."""
    times = [record.started_at, record.queue_joined_at, record.answered_at,
             record.talk_ended_at, *(t.at for t in record.transfers)]
    for a in record.ring_attempts:
        times += [a.started_at, a.ended_at]
    return max(t for t in times if t is not None)
