"""Ring policy → the tracker's :class:`RingRule`, per queue."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.calls.model import RingRule
from callcenter.settings import RingPolicy, Settings

PolicyFor = Callable[[str | None], RingPolicy]
RuleFor = Callable[[str | None], RingRule]


def rule_from_policy(policy: RingPolicy) -> RingRule:
    """The :class:`RingRule` a policy means.

    ``on_deadline = "record"`` only records violations (queue and direct
    calls); otherwise queue calls get a Hangup (Cause 19) and direct calls
    ``policy.direct_action``.
    """
    record_only = policy.on_deadline == "record"
    return RingRule(
        cycle_s=policy.cycle_s,
        rings_allowed=policy.rings_allowed,
        queue_action="record" if record_only else "hangup",
        direct_action="record" if record_only else policy.direct_action,
    )


def rule_for_settings(settings: Settings) -> RuleFor:
    """``rule_for(queue)`` for the tracker: the queue's policy (overrides applied) as a RingRule.

    ``queue=None`` (a direct call to an agent) uses the global ``[ring]`` policy.
    """
    cache: dict[str | None, RingRule] = {}

    def rule_for(queue: str | None) -> RingRule:
        rule = cache.get(queue)
        if rule is None:
            rule = cache[queue] = rule_from_policy(settings.ring_policy_for(queue))
        return rule

    return rule_for
