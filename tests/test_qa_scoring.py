"""QA scoring arithmetic (weights, N/A, fatal, bands) and auto items from call records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callcenter.calls.model import CallRecord, RingAttempt, Transfer, Violation
from callcenter.qa.forms import Form, parse_form
from callcenter.qa.scoring import (
    ItemScore,
    ScoringError,
    compute,
    merge_scores,
    prefill,
    scores_from_json,
    scores_to_json,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SMALL = """
id = "small"
version = 3
title_zh = "小"
title_en = "Small"
[[bands]]
id = "low"
min = 0
max = 59
label_zh = "低"
label_en = "Low"
[[bands]]
id = "high"
min = 60
max = 100
label_zh = "高"
label_en = "High"
[[sections]]
id = "s"
title_zh = "节"
title_en = "Section"
[[sections.items]]
id = "a"
text_zh = "甲"
text_en = "A"
weight = 2
scale = "yes_no"
[[sections.items]]
id = "b"
text_zh = "乙"
text_en = "B"
weight = 3
scale = "0..4"
na_allowed = true
[[sections.items]]
id = "c"
text_zh = "丙"
text_en = "C"
weight = 5
scale = "yes_no"
fatal = true
[[sections.items]]
id = "hold"
text_zh = "保持"
text_en = "Hold"
weight = 1
scale = "yes_no"
na_allowed = true
auto = "hold_under_limit"
hold_limit_s = 30
"""


@pytest.fixture
def form() -> Form:
    return parse_form(SMALL, "small.toml")


def s(value: int | None = None, na: bool = False, **kw: str) -> ItemScore:
    return ItemScore(value, na, **kw)


def test_weighted_total_and_band(form: Form) -> None:
    r = compute(form, {"a": s(1), "b": s(2), "c": s(1), "hold": s(0)}, complete=True)
    # (2·1 + 3·2/4 + 5·1 + 1·0) / (2+3+5+1) · 100 = 8.5/11 · 100
    assert r.total == pytest.approx(77.27, abs=0.005)
    assert r.grade == "high"
    assert r.failed == ("b", "hold") and r.fatal_failed == () and r.missing == ()


def test_na_items_leave_the_denominator(form: Form) -> None:
    r = compute(form, {"a": s(0), "b": s(na=True), "c": s(1), "hold": s(na=True)})
    assert r.total == pytest.approx(5 / 7 * 100, abs=0.005)  # 71.43
    assert r.grade == "high"
    r = compute(form, {"a": s(0), "b": s(1), "c": s(1), "hold": s(na=True)})
    assert r.total == pytest.approx((0 + 0.75 + 5) / 10 * 100)  # 57.5 → low
    assert r.grade == "low"


def test_na_only_where_allowed(form: Form) -> None:
    with pytest.raises(ScoringError) as exc:
        compute(form, {"a": s(na=True)})
    assert exc.value.problems == {"a": "N/A is not allowed for this item"}


def test_fatal_failure_zeroes_the_total(form: Form) -> None:
    r = compute(form, {"a": s(1), "b": s(4), "c": s(0), "hold": s(1)}, complete=True)
    assert r.total == 0.0 and r.grade == "low" and r.fatal_failed == ("c",)
    assert r.raw_total == pytest.approx(6 / 11 * 100, abs=0.005)


def test_bad_values_and_unknown_items(form: Form) -> None:
    with pytest.raises(ScoringError) as exc:
        compute(form, {"a": s(2), "b": s(-1), "zz": s(1), "c": ItemScore(1, True)})
    assert exc.value.problems == {
        "a": "score must be a whole number from 0 to 1",
        "b": "score must be a whole number from 0 to 4",
        "zz": "not an item of this form",
        "c": "either a value or N/A, not both",
    }


def test_draft_may_be_partial_submit_may_not(form: Form) -> None:
    r = compute(form, {"a": s(1)})
    assert r.total == 100.0 and r.missing == ("b", "c", "hold")
    with pytest.raises(ScoringError, match="b: not scored yet"):
        compute(form, {"a": s(1)}, complete=True)
    assert compute(form, {}).total is None


def test_band_edges(form: Form) -> None:
    assert form.band_for(59.99).id == "low"
    assert form.band_for(60).id == "high"
    assert form.band_for(0).id == "low" and form.band_for(100).id == "high"


def _call(**kw: object) -> CallRecord:
    base = {"server": "pbx1", "linkedid": "1.1", "started_at": T0, "agent": "1001",
                "answered_at": T0 + timedelta(seconds=8), "ended_at": T0 + timedelta(seconds=200)}
    base.update(kw)
    return CallRecord(**base)  # type: ignore[arg-type]


def _attempt(agent: str, ring_s: float, outcome: str, within: bool) -> RingAttempt:
    return RingAttempt(agent=agent, interface=f"PJSIP/agent{agent}", started_at=T0,
                       ended_at=T0 + timedelta(seconds=ring_s), outcome=outcome,  # type: ignore
                       within_rule=within)


def test_auto_items_prefill_from_the_call_record() -> None:
    shipped = Path(__file__).resolve().parents[1] / "qa" / "forms" / "phone-reception.toml"
    form = parse_form(shipped.read_text(encoding="utf-8"))
    call = _call(hold_s=75.0, ring_attempts=[_attempt("1001", 6.0, "answered", True)])
    pre = prefill(form, call)
    assert set(pre) == {"answer_within_three_rings", "hold_time", "transfer_handled"}
    assert (pre["answer_within_three_rings"].value, pre["answer_within_three_rings"].na) == (1, False)
    assert pre["hold_time"].value == 0 and "hold 75 s (limit 60 s)" in pre["hold_time"].auto.evidence
    assert pre["transfer_handled"].na and pre["transfer_handled"].value is None

    # another agent's missed ring is not the reviewed agent's fault; their own is
    v = Violation(agent="1002", interface="PJSIP/agent1002", queue="support", ring_s=16.0,
                  rings=4, deadline_s=15.0, at=T0)
    call = _call(ring_attempts=[_attempt("1002", 16.0, "no_answer", False),
                                _attempt("1001", 4.0, "answered", True)], violations=[v],
                 transfers=[Transfer("blind", "1001", "1003", T0)])
    pre = prefill(form, call)
    assert pre["answer_within_three_rings"].value == 1
    assert pre["hold_time"].value == 1
    assert not pre["transfer_handled"].na and pre["transfer_handled"].value is None
    call.violations.append(Violation(agent="1001", interface="PJSIP/agent1001", queue="support",
                                     ring_s=17.0, rings=4, deadline_s=15.0, at=T0))
    assert prefill(form, call)["answer_within_three_rings"].value == 0
    late = _call(ring_attempts=[_attempt("1001", 18.0, "answered", False)])
    assert prefill(form, late)["answer_within_three_rings"].value == 0
    outbound = _call(direction="outbound", answered_at=None)
    pre = prefill(form, outbound)
    assert pre["answer_within_three_rings"].na and pre["hold_time"].na


def test_override_of_auto_needs_reason(form: Form) -> None:
    call = _call(hold_s=45.0)
    pre = prefill(form, call)
    assert pre["hold"].value == 0
    edits = {"hold": s(1)}
    with pytest.raises(ScoringError) as exc:
        compute(form, merge_scores(pre, edits))
    assert exc.value.problems == {"hold": "changing an auto-scored item needs a reason"}
    merged = merge_scores(pre, {"hold": s(1, override_reason="hold was the customer's request")})
    assert merged["hold"].overridden and merged["hold"].auto == pre["hold"].auto
    assert compute(form, merged).per_item["hold"] == 1.0
    assert scores_from_json(scores_to_json(merged)) == merged
