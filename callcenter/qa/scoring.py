"""Scoring arithmetic of a review: pure functions, no I/O.

total = Σ weight × score/max over applicable items ÷ Σ their weights × 100,
N/A items excluded (only where the form allows N/A); any failed fatal item
sets the total to 0. Auto items are prefilled from the call record and may be
overridden only with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from callcenter.calls.model import CallRecord
from callcenter.qa.auto import AutoResult, auto_result
from callcenter.qa.forms import Form


class ScoringError(ValueError):
    """Item scores that do not fit the form; :attr:`problems` maps item id → problem."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


@dataclass(frozen=True)
class ItemScore:
    """One item as scored: a value (0..max), N/A, or nothing yet."""

    value: int | None = None
    na: bool = False
    comment: str = ""
    auto: AutoResult | None = None
    override_reason: str = ""

    @property
    def scored(self) -> bool:
        """True once the item has a value or is N/A."""
        return self.na or self.value is not None

    @property
    def overridden(self) -> bool:
        """True when the inspector changed what the daemon prefilled."""
        a = self.auto
        if a is None:
            return False
        return a.na != self.na or (a.value is not None and a.value != self.value)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "na": self.na, "comment": self.comment,
                "auto": self.auto.to_json() if self.auto else None,
                "override_reason": self.override_reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemScore:
        auto = data.get("auto")
        return cls(data.get("value"), bool(data.get("na")), str(data.get("comment") or ""),
                   AutoResult.from_json(auto) if auto else None,
                   str(data.get("override_reason") or ""))


@dataclass(frozen=True)
class ScoreResult:
    """The computed outcome; ``total`` is None when nothing applicable is scored."""

    total: float | None
    grade: str | None
    raw_total: float | None
    fatal_failed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    per_item: dict[str, float] = field(default_factory=dict)
    """Points each applicable item contributes to the raw total."""


def scores_to_json(scores: Mapping[str, ItemScore]) -> dict[str, Any]:
    """Item scores as a JSON object (for storage)."""
    return {k: v.to_json() for k, v in scores.items()}


def scores_from_json(data: Mapping[str, Any]) -> dict[str, ItemScore]:
    """Item scores from :func:`scores_to_json` output."""
    return {k: ItemScore.from_json(v) for k, v in data.items()}


def prefill(form: Form, call: CallRecord) -> dict[str, ItemScore]:
    """Auto items of ``form`` scored from ``call`` (others absent)."""
    out = {}
    for item in form.items:
        auto = auto_result(item, call)
        if auto is not None:
            out[item.id] = ItemScore(auto.value, auto.na, auto=auto)
    return out


def merge_scores(base: Mapping[str, ItemScore], edits: Mapping[str, ItemScore]
                 ) -> dict[str, ItemScore]:
    """``edits`` over ``base``, keeping each item's auto prefill from ``base``."""
    out = dict(base)
    for k, v in edits.items():
        prev = base.get(k)
        out[k] = replace(v, auto=prev.auto) if prev is not None and prev.auto else v
    return out


def check_scores(form: Form, scores: Mapping[str, ItemScore]) -> None:
    """Raise ScoringError for unknown items, values off the scale, N/A where not
    allowed, and auto overrides without a reason."""
    problems: dict[str, str] = {}
    known = {i.id: i for i in form.items}
    for item_id, s in scores.items():
        item = known.get(item_id)
        if item is None:
            problems[item_id] = "not an item of this form"
        elif s.na and s.value is not None:
            problems[item_id] = "either a value or N/A, not both"
        elif s.na and not item.na_allowed:
            problems[item_id] = "N/A is not allowed for this item"
        elif s.value is not None and (isinstance(s.value, bool) or not isinstance(s.value, int)
                                      or not 0 <= s.value <= item.max_score):
            problems[item_id] = f"score must be a whole number from 0 to {item.max_score}"
        elif s.overridden and not s.override_reason.strip():
            problems[item_id] = "changing an auto-scored item needs a reason"
    if problems:
        raise ScoringError(problems)


def compute(form: Form, scores: Mapping[str, ItemScore], *, complete: bool = False
            ) -> ScoreResult:
    """Check ``scores`` and compute total and grade; ``complete`` requires every item scored."""
    check_scores(form, scores)
    missing = tuple(i.id for i in form.items if not (i.id in scores and scores[i.id].scored))
    if complete and missing:
        raise ScoringError({m: "not scored yet" for m in missing})
    weights = 0.0
    per_item: dict[str, float] = {}
    failed, fatal = [], []
    for item in form.items:
        s = scores.get(item.id)
        if s is None or s.value is None:
            continue
        weights += item.weight
        per_item[item.id] = item.weight * s.value / item.max_score
        if s.value < item.pass_min:
            failed.append(item.id)
            if item.fatal:
                fatal.append(item.id)
    if weights == 0:
        if complete:
            raise ScoringError({"*": "no applicable item: every item is N/A"})
        return ScoreResult(None, None, None, (), (), missing, {})
    raw = round(sum(per_item.values()) / weights * 100, 2)
    total = 0.0 if fatal else raw
    return ScoreResult(total, form.band_for(total).id, raw, tuple(fatal), tuple(failed),
                       missing, per_item)
