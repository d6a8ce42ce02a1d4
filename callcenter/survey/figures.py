"""The survey's figures, each defined once (docs/survey.md, "Figures").

A call's survey: ``survey_offered`` (the dialplan asked the caller) and
``survey_score`` (1-5, None when nothing valid was pressed). From the calls of a
group (an agent, a queue, a day):

- offered: calls surveyed;
- answered: surveyed calls with a score 1-5;
- response rate: answered / offered;
- average score: the mean of the scores;
- CSAT: the share of answered surveys scoring 4 or 5 (:data:`SATISFIED_MIN`).

A rate or mean without its denominator (nothing offered, nothing answered) is unknown
(None), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from callcenter.calls.model import CallRecord
from callcenter.metrics import _Additive, ratio

SATISFIED_MIN = 4
"""The lowest score counted as satisfied in CSAT (4 and 5 of 1-5)."""

DEFINITIONS: dict[str, dict[str, str]] = {
    "offered": {
        "en": "Calls whose caller was asked for a score after the agent hung up (answered, "
              "silent, or hung up during the prompt).",
        "zh": "坐席先挂机后进入满意度调查的来电数（含未按键或提示音中挂断的）。"},
    "answered": {
        "en": "Surveyed calls whose caller pressed a valid score, 1 to 5.",
        "zh": "来电者按下有效评分（1 至 5）的调查数。"},
    "response_rate": {
        "en": "Answered / offered surveys.",
        "zh": "答复数 ÷ 调查数。"},
    "average_score": {
        "en": "The mean of the scores given (1 to 5).",
        "zh": "所有有效评分（1 至 5）的平均值。"},
    "csat": {
        "en": "Share of answered surveys scoring 4 or 5; unknown when none was answered.",
        "zh": "答复中评 4 分或 5 分的比例；无答复时为未知。"},
}
"""Each figure's definition, shown next to it in the reports and the wallboard."""


def is_satisfied(score: int) -> bool:
    """A score counted as satisfied in CSAT."""
    return score >= SATISFIED_MIN


@dataclass
class SurveyFigures(_Additive):
    """The survey counts of a group of calls, and the figures they give."""

    offered: int = 0
    answered: int = 0
    satisfied: int = 0
    score_sum: int = 0

    @property
    def response_rate(self) -> float | None:
        """Answered / offered (None: nothing offered)."""
        return ratio(self.answered, self.offered)

    @property
    def average_score(self) -> float | None:
        """The mean score (None: nothing answered)."""
        return ratio(self.score_sum, self.answered)

    @property
    def csat(self) -> float | None:
        """The share of answers scoring :data:`SATISFIED_MIN` or more (None: no answer)."""
        return ratio(self.satisfied, self.answered)

    def as_dict(self) -> dict[str, Any]:
        """Counts and figures as JSON (rates 0..1, None when unknown)."""
        counts = super().as_dict()
        del counts["score_sum"]
        return {**counts, "response_rate": self.response_rate,
                "average_score": self.average_score, "csat": self.csat}


def call_survey(call: CallRecord) -> SurveyFigures:
    """The counts one call adds."""
    if not call.survey_offered:
        return SurveyFigures()
    score = call.survey_score
    if score is None:
        return SurveyFigures(offered=1)
    return SurveyFigures(1, 1, int(is_satisfied(score)), score)


def survey_figures(calls: Iterable[CallRecord]) -> SurveyFigures:
    """The survey counts of ``calls``."""
    return sum(map(call_survey, calls), SurveyFigures())
