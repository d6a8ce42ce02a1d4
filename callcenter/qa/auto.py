"""Auto items: what the daemon measured on a call, as prefilled item scores.

Each result is a score (``value``, 1 = yes), N/A (``na``), or only an
applicability decision (``value`` None, ``na`` False: the inspector scores it),
with a short ``evidence`` text for the scoring page: English in ``evidence``, and as a
msgid with its parameters (``msgid``, ``params``) for the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.calls.model import CallRecord
from callcenter.qa.forms import Item


@dataclass(frozen=True)
class AutoResult:
    """The daemon's prefill for one auto item."""

    value: int | None
    na: bool
    evidence: str
    msgid: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, _: Any) -> str:
        """The evidence in ``_``'s language (a prefill stored before msgids: as stored)."""
        return _(self.msgid, **self.params) if self.msgid else self.evidence

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "na": self.na, "evidence": self.evidence,
                "msgid": self.msgid, "params": self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AutoResult:
        return cls(data.get("value"), bool(data.get("na")), str(data.get("evidence", "")),
                   str(data.get("msgid") or ""), dict(data.get("params") or {}))


def _said(value: int | None, na: bool, msgid: str, **params: Any) -> AutoResult:
    return AutoResult(value, na, msgid % params if params else msgid, msgid, params)


def _answered_within_rule(call: CallRecord) -> AutoResult:
    """Yes when the reviewed agent broke no ring rule on this call; N/A when never rung."""
    mine = [a for a in call.ring_attempts if a.agent == call.agent]
    if call.agent is None or not mine:
        return _said(None, True, "the agent's phone did not ring for this call")
    broken = [v for v in call.violations if v.agent == call.agent]
    late = [a for a in mine if a.outcome == "answered" and a.within_rule is False]
    if broken or late:
        worst = max([v.ring_s for v in broken] + [a.ring_s or 0.0 for a in late])
        return _said(0, False, "%(n)d ring(s) over the rule, longest %(worst).1f s",
                     n=len(broken) + len(late), worst=worst)
    answered = [a for a in mine if a.outcome == "answered"]
    ring = max((a.ring_s or 0.0 for a in answered), default=0.0)
    return _said(1, False, "answered within the rule (%(ring).1f s of ringing)", ring=ring)


def _hold_under_limit(call: CallRecord, limit_s: float) -> AutoResult:
    """Yes when the call's hold time is at most ``limit_s``; N/A when never answered."""
    if call.answered_at is None:
        return _said(None, True, "the call was not answered")
    if call.hold_s is None:
        return _said(None, False, "hold time unknown (part of the call was not observed)")
    ok = call.hold_s <= limit_s
    return _said(1 if ok else 0, False, "hold %(hold).0f s (limit %(limit).0f s)",
                 hold=call.hold_s, limit=limit_s)


def _transfer_handled(call: CallRecord) -> AutoResult:
    """Applies (for the inspector to score) only when the call was transferred."""
    if not call.transfers:
        return _said(None, True, "no transfer on this call")
    targets = ", ".join(t.to_agent or "?" for t in call.transfers)
    return _said(None, False, "%(n)d transfer(s) to %(targets)s", n=len(call.transfers),
                 targets=targets)


def auto_result(item: Item, call: CallRecord) -> AutoResult | None:
    """The prefill of ``item`` for ``call``; None for an item that is not auto."""
    if item.auto == "answered_within_rule":
        return _answered_within_rule(call)
    if item.auto == "hold_under_limit":
        assert item.hold_limit_s is not None
        return _hold_under_limit(call, item.hold_limit_s)
    if item.auto == "transfer_handled":
        return _transfer_handled(call)
    return None
