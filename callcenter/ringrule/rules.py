"""The ring rule's settings → the tracker's :class:`RingRule`, per queue."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.calls.model import RingRule
from callcenter.settings import RingRuleSettings, Settings

RingSettingsFor = Callable[[str | None], RingRuleSettings]
RuleFor = Callable[[str | None], RingRule]


def rule_from_settings(conf: RingRuleSettings) -> RingRule:
    """The :class:`RingRule` of these settings.

    ``on_deadline = "record"`` only records violations (queue and direct
    calls); otherwise queue calls get a Hangup (Cause 19) and direct calls
    ``conf.direct_action``.
    """
    record_only = conf.on_deadline == "record"
    return RingRule(
        cycle_s=conf.cycle_s,
        rings_allowed=conf.rings_allowed,
        queue_action="record" if record_only else "hangup",
        direct_action="record" if record_only else conf.direct_action,
    )


def rule_for_settings(settings: Settings) -> RuleFor:
    """``rule_for(queue)`` for the tracker: the queue's settings (overrides applied) as a RingRule.

    ``queue=None`` (a direct call to an agent) uses the global ``[ring]`` settings.
    """
    cache: dict[str | None, RingRule] = {}

    def rule_for(queue: str | None) -> RingRule:
        rule = cache.get(queue)
        if rule is None:
            rule = cache[queue] = rule_from_settings(settings.ring_settings_for(queue))
        return rule

    return rule_for
