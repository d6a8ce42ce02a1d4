"""What enforcement produced: per-violation outcomes (its alerts are facts of the model,
:mod:`callcenter.calls.alerts`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.calls.model import Violation


@dataclass
class EnforcedViolation:
    """One enforced (or only recorded) ring-rule violation of one call.

    ``violation`` carries agent, queue, ring seconds, rings, action, result
    and detail; ``sent`` is the AMI action as sent (None when none was).
    """

    server: str
    linkedid: str
    violation: Violation
    sent: dict[str, str] | None = None
    response: dict[str, object] = field(default_factory=dict)
