"""The survey's report tables (per agent, queue, day) for the CSV and XLSX exports, in the
shape of :mod:`callcenter.reports.export` (percentages 0..100, empty when unknown)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from callcenter.reports.export import Cell, Column, Table, english, pct
from callcenter.survey.figures import SurveyFigures
from callcenter.survey.report import SurveyReport
from callcenter.web.i18n import Gettext

COLUMNS: list[tuple[Column, Callable[[SurveyFigures], Cell]]] = [
    (Column("Surveys offered", "offered", "count"), lambda f: f.offered),
    (Column("Survey answers", "answered", "count"), lambda f: f.answered),
    (Column("Response rate", "response_rate", "percent"), lambda f: pct(f.response_rate)),
    (Column("Average score", "average_score", "count"),
     lambda f: None if f.average_score is None else round(f.average_score, 2)),
    (Column("CSAT", "csat", "percent"), lambda f: pct(f.csat)),
]
"""The figures of :class:`SurveyFigures`, one column each (definitions: DEFINITIONS)."""


def _table(name: str, key: str, groups: Mapping[str, SurveyFigures] | Mapping[date, SurveyFigures],
           _: Gettext) -> Table:
    columns = [Column(key, "", "text"), *(c for c, _fn in COLUMNS)]
    rows = [[str(k), *(fn(f) for _c, fn in COLUMNS)] for k, f in groups.items()]
    return Table(name, _(name), columns, [_(c.label) for c in columns], rows)


def survey_tables(survey: SurveyReport, _: Gettext = english) -> list[Table]:
    """The survey's figures per agent, per queue and per day."""
    return [_table("survey by agent", "agent", survey.by_agent, _),
            _table("survey by queue", "queue", survey.by_queue, _),
            _table("survey by day", "day", survey.by_day, _)]
