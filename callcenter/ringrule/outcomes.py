"""What enforcement produced: per-violation outcomes and supervisor alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from callcenter.calls.model import Fact, Violation

AlertKind = Literal["agent_paused", "agent_autopaused", "pause_failed"]


@dataclass(frozen=True)
class SupervisorAlert(Fact):
    """An agent missed ``misses`` rings in a row; what the daemon did about it.

    ``action`` is ``pause`` (our QueuePause) or ``none`` (app_queue's
    autopause had already paused the member); ``result`` is ok | failed |
    too_late | not_taken.
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
