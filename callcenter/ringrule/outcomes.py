"""What enforcement produced: per-violation outcomes and supervisor alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from callcenter.calls.model import Fact, Violation

AlertKind = Literal["agent_paused", "already_paused", "pause_failed"]


@dataclass(frozen=True)
class SupervisorAlert(Fact):
    """An agent missed ``misses`` rings in a row; what the daemon did about it.

    ``kind``: ``agent_paused`` (our QueuePause worked), ``already_paused``
    (app_queue's autopause, or another pause, was already in force: not
    doubled; ``detail`` says which), ``pause_failed`` (QueuePause failed or
    came too late). ``action`` is ``pause`` or ``none``; ``result`` is ok |
    failed | too_late | not_taken.
    """

    kind: AlertKind
    interface: str
    agent: str
    misses: int
    linkedid: str
    queue: str | None
    action: str
    result: str
    detail: str = ""


@dataclass
class EnforcementOutcome:
    """One enforced (or only recorded) ring-rule violation of one call.

    ``violation`` carries agent, queue, ring seconds, rings, action, result
    and detail; ``sent`` is the AMI action as sent (None when none was).
    """

    server: str
    linkedid: str
    violation: Violation
    sent: dict[str, str] | None = None
    response: dict[str, object] = field(default_factory=dict)
