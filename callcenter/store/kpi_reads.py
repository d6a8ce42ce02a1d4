"""The managers' KPIs with the centre's rules' definitions (MISSION.md), one SQL each.

Each KPI is a function whose docstring is its definition (the reports page shows
it). A KPI's SQL lists its *facts* - one row per thing counted: when (``at``),
the agent, queue and complaint reason it belongs to, a numerator key, a
denominator key, a value - and :func:`_aggregate` (written once) buckets them by
day, week, month, quarter or year in the centre's time zone and groups them by
centre, agent, queue, department or complaint reason:

- a rate is distinct numerator keys / distinct denominator keys;
- a mean is the average of the values; a count the distinct denominator keys.

Unknown is null, not zero: a rate without a denominator, a mean without values is
None. A fact without a value of the grouping (a call has no complaint reason) is
left out of that grouping, unless it is ``shared``: then it counts in every group
of its bucket (the customers served are the denominator of every reason's
complaint rate). An agent's department comes from ``kpi.departments``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import asyncpg

Grain = Literal["day", "week", "month", "quarter", "year", "period"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month", "quarter", "year")
"""The calendar grains; ``period`` is one bucket for the whole query (a report's period)."""
Dimension = Literal["centre", "agent", "queue", "department", "reason"]
DIMENSIONS: tuple[Dimension, ...] = ("centre", "agent", "queue", "department", "reason")
Kind = Literal["rate", "mean_s", "count"]


@dataclass(frozen=True)
class KpiQuery:
    """Which facts: [start, end) UTC, bucketed by ``grain`` in ``tz``, grouped ``by``."""

    start: datetime
    end: datetime
    now: datetime
    tz: str = "UTC"
    grain: Grain = "month"
    by: Dimension = "centre"
    departments: Mapping[str, str] = field(default_factory=dict)
    """Agent → department."""
    qa_pass_total: float = 60.0
    satisfied_min_score: int = 4
    queue: str | None = None
    """Only the facts of this queue."""
    agents: tuple[str, ...] = ()
    """Only the facts of these agents (a team); empty = all."""


@dataclass(frozen=True)
class KpiValue:
    """One KPI of one bucket (its first local day) and group ('' = none / the centre)."""

    bucket: date
    group: str
    value: float | None
    num: int
    den: int


# The facts' common parameters ($1..$5), the grouping's ($6..$10), the filter's ($11, $12).
_AGGREGATE = """
WITH p AS (SELECT $1::timestamptz AS start, $2::timestamptz AS end_, $3::timestamptz AS now,
                  $4::float8 AS qa_pass, $5::int AS sat_min),
f(at, agent, queue, reason, shared, num_key, den_key, value) AS ({facts}),
d AS (SELECT * FROM unnest($9::text[], $10::text[]) AS d(agent, department)),
g AS (SELECT CASE WHEN $6 = 'period' THEN ($1 AT TIME ZONE $7)::date
                  ELSE date_trunc($6, f.at AT TIME ZONE $7)::date END AS bucket,
             CASE $8 WHEN 'centre' THEN '' WHEN 'agent' THEN coalesce(f.agent, '')
                     WHEN 'queue' THEN coalesce(f.queue, '')
                     WHEN 'department' THEN coalesce(d.department, '')
                     ELSE f.reason END AS grp,
             f.shared, f.num_key, f.den_key, f.value
      FROM f LEFT JOIN d ON d.agent = f.agent
      WHERE ($11::text IS NULL OR f.queue = $11)
        AND ($12::text[] IS NULL OR f.agent = ANY($12::text[]))),
s AS (SELECT DISTINCT bucket, grp FROM g WHERE grp IS NOT NULL)
SELECT s.bucket, s.grp, count(DISTINCT g.num_key) AS num, count(DISTINCT g.den_key) AS den,
       avg(g.value)::float8 AS mean
FROM s JOIN g ON g.bucket = s.bucket AND (g.grp = s.grp OR (g.grp IS NULL AND g.shared))
GROUP BY 1, 2 ORDER BY 1, 2"""

_ANSWERED = "(c.answered_at IS NOT NULL OR 'answer' = ANY(c.unknown))"
_IN = "{at} >= p.start AND {at} < p.end_"
_COMPLAINT_CALL = ("LEFT JOIN calls c ON c.server = k.server AND c.linkedid = k.linkedid"
                   " CROSS JOIN p")
_WHO = "coalesce(k.responsible_agent, k.agent)"


async def _aggregate(conn: asyncpg.Connection, q: KpiQuery, facts: str,
                     kind: Kind) -> list[KpiValue]:
    rows = await conn.fetch(
        _AGGREGATE.format(facts=facts), q.start, q.end, q.now, q.qa_pass_total,
        q.satisfied_min_score, q.grain, q.tz, q.by, list(q.departments),
        list(q.departments.values()), q.queue, list(q.agents) or None)
    return [KpiValue(r["bucket"], r["grp"], _value(kind, r["num"], r["den"], r["mean"]),
                     r["num"], r["den"]) for r in rows]


def _value(kind: Kind, num: int, den: int, mean: float | None) -> float | None:
    if kind == "count":
        return float(den)
    if kind == "mean_s":
        return mean
    return num / den if den else None




def _complaining(den: str) -> str:
    """Complaints registered in the period, their customer the numerator key."""
    return f"""
SELECT k.opened_at, {_WHO}, c.queue, k.reason, false,
       coalesce(k.number, 'complaint:' || k.id), {den}, NULL::float8
FROM complaints k {_COMPLAINT_CALL} WHERE {_IN.format(at="k.opened_at")}"""



_SERVED = f"""
SELECT c.started_at, c.agent, c.queue, NULL::text, true, NULL::text,
       coalesce(c.caller, 'call:' || c.server || '/' || c.linkedid), NULL
FROM calls c CROSS JOIN p
WHERE c.direction = 'inbound' AND {_ANSWERED} AND {_IN.format(at="c.started_at")}"""


async def complaint_rate(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Complaint rate = complaining customers / customers served.

    Complaining customers: distinct customer numbers of the complaints registered in
    the period (a complaint without a number counts as one customer). Customers served:
    distinct caller numbers of the inbound calls answered that started in the period (a
    call without a caller ID counts as one customer). A complaint belongs to the agent
    found responsible, else the agent of its call or note, and to its call's queue; by
    reason, every reason's rate is over all the customers served."""
    return await _aggregate(conn, q, _complaining("NULL::text") + " UNION ALL " + _SERVED,
                            "rate")


async def complaints(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Complaints = complaints registered in the period (from a note or by hand)."""
    return await _aggregate(conn, q, _complaining("k.id::text"), "count")


async def complaint_handling_time(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Complaint handling time = mean of (closed - registered) over the complaints closed
    in the period, every round included (seconds)."""
    return await _aggregate(conn, q, f"""
SELECT k.closed_at, {_WHO}, c.queue, k.reason, false, NULL::text, k.id::text,
       extract(epoch FROM k.closed_at - k.opened_at)::float8
FROM complaints k {_COMPLAINT_CALL}
WHERE k.status = 'closed' AND {_IN.format(at="k.closed_at")}""", "mean_s")


async def complaint_on_time_rate(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Complaint on-time rate = complaints answered by their first deadline / complaints
    answered or past their first deadline, of the complaints registered in the period
    (one still within its deadline and unanswered is not counted yet)."""
    return await _aggregate(conn, q, f"""
SELECT k.opened_at, {_WHO}, c.queue, k.reason, false,
       CASE WHEN k.answered_at <= coalesce(k.first_due_at, k.due_at) THEN k.id::text END,
       CASE WHEN k.answered_at IS NOT NULL OR coalesce(k.first_due_at, k.due_at) <= p.now
            THEN k.id::text END,
       NULL::float8
FROM complaints k {_COMPLAINT_CALL} WHERE {_IN.format(at="k.opened_at")}""", "rate")


_SURVEYS = f"""
SELECT c.started_at AS at, c.agent, c.queue, NULL::text AS reason, false AS shared,
       CASE WHEN c.survey_score >= p.sat_min THEN 'call:' || c.server || '/' || c.linkedid
       END AS num_key, 'call:' || c.server || '/' || c.linkedid AS den_key,
       NULL::float8 AS value
FROM calls c CROSS JOIN p WHERE c.survey_score IS NOT NULL AND {_IN.format(at="c.started_at")}"""
_VERDICTS = f"""
SELECT e.at AS at, {_WHO} AS agent, c.queue, k.reason, false AS shared,
       CASE WHEN e.verdict = 'satisfied' THEN 'verdict:' || e.id END AS num_key,
       'verdict:' || e.id AS den_key, NULL::float8 AS value
FROM complaint_events e JOIN complaints k ON k.id = e.complaint_id {_COMPLAINT_CALL}
WHERE e.verdict IS NOT NULL AND {_IN.format(at="e.at")}"""


async def survey_satisfaction(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Survey satisfaction = surveys answered with a score >= kpi.satisfied_min_score
    (default 4 of 5) / surveys answered, of the calls that started in the period (a
    survey without an answer is left out)."""
    return await _aggregate(conn, q, _SURVEYS, "rate")


async def verdict_satisfaction(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Complaint verdict satisfaction = "satisfied" verdicts / verdicts given in the period
    (each round's verdict counts; from a follow-up call or the survey)."""
    return await _aggregate(conn, q, _VERDICTS, "rate")


async def satisfaction_rate(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Satisfaction rate = (satisfied survey answers + "satisfied" verdicts) / (survey
    answers + verdicts) in the period: every answer of a customer weighs one, whether
    it came from the survey or from a complaint's verdict."""
    return await _aggregate(conn, q, _SURVEYS + " UNION ALL " + _VERDICTS, "rate")


async def response_time(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Response time = mean of (first answer - the call's start) over the inbound calls
    answered that started in the period (seconds; from the call's start, not from its
    queue entry: IVR and queue time included). Calls whose start or answer time was not
    observed are left out."""
    return await _aggregate(conn, q, f"""
SELECT c.started_at, c.agent, c.queue, NULL::text, false, NULL::text,
       c.server || '/' || c.linkedid,
       extract(epoch FROM c.answered_at - c.started_at)::float8
FROM calls c CROSS JOIN p
WHERE c.direction = 'inbound' AND c.answered_at IS NOT NULL
  AND NOT c.unknown && '{{start,answer}}'::text[] AND {_IN.format(at="c.started_at")}""",
                            "mean_s")


async def service_norm_compliance(conn: asyncpg.Connection, q: KpiQuery) -> list[KpiValue]:
    """Service-norm compliance = compliant services / all services reviewed: QA reviews
    submitted in the period with a total >= kpi.qa_pass_total and no fatal error / QA
    reviews submitted in the period with a total."""
    return await _aggregate(conn, q, f"""
SELECT r.submitted_at, r.agent, c.queue, NULL::text, false,
       CASE WHEN r.total >= p.qa_pass AND NOT r.fatal THEN r.id::text END, r.id::text,
       NULL::float8
FROM qa_reviews r LEFT JOIN calls c ON c.server = r.server AND c.linkedid = r.linkedid
CROSS JOIN p
WHERE r.status = 'submitted' AND r.total IS NOT NULL AND {_IN.format(at="r.submitted_at")}""",
                            "rate")


Kpi = Callable[[asyncpg.Connection, KpiQuery], Awaitable[list[KpiValue]]]
KPIS: dict[str, tuple[Kpi, Kind]] = {
    "complaints": (complaints, "count"),
    "complaint_rate": (complaint_rate, "rate"),
    "complaint_handling_time": (complaint_handling_time, "mean_s"),
    "complaint_on_time_rate": (complaint_on_time_rate, "rate"),
    "satisfaction_rate": (satisfaction_rate, "rate"),
    "survey_satisfaction": (survey_satisfaction, "rate"),
    "verdict_satisfaction": (verdict_satisfaction, "rate"),
    "response_time": (response_time, "mean_s"),
    "service_norm_compliance": (service_norm_compliance, "rate"),
}
"""Every KPI by name, with how its value reads."""


def definition(name: str) -> str:
    """The KPI's definition: its function's docstring, as one paragraph."""
    doc = KPIS[name][0].__doc__ or ""
    return " ".join(doc.split())
