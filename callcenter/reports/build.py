"""A report: the figures of one period and filter, by day, by hour and per agent."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from callcenter.kpis import (
    CENTRE,
    AgentFigures,
    CallFigures,
    NoteFigures,
    ServiceLevelRules,
    local_midnight,
)
from callcenter.reports.periods import Period
from callcenter.settings import Settings
from callcenter.store import kpi_reads
from callcenter.store import report_extras as extras
from callcenter.store import report_reads as sql
from callcenter.store import report_rollup as rollup
from callcenter.store.kpi_reads import KpiQuery


@dataclass(frozen=True)
class ReportFilter:
    """Which calls: one queue and/or a set of agents (a team); empty = everything."""

    queue: str | None = None
    agents: tuple[str, ...] = ()

    @property
    def agent_list(self) -> list[str] | None:
        """The agents as a SQL array parameter (None = all)."""
        return list(self.agents) or None

    @property
    def label(self) -> str:
        """E.g. ``queue support, agents agent1001 agent1002`` ('' when unfiltered)."""
        parts = [f"queue {self.queue}"] if self.queue else []
        if self.agents:
            parts.append("agent " + " ".join(self.agents))
        return ", ".join(parts)


@dataclass
class AgentRow:
    """One agent's line: call and time figures, notes and QA when available."""

    agent: str
    figures: AgentFigures
    notes: NoteFigures | None = None
    qa_reviews: int = 0
    qa_average: float | None = None
    complaint_rate: float | None = None
    """store.kpi_reads.complaint_rate of the agent (None: unknown, or no complaint tables)."""
    response_time_s: float | None = None
    """store.kpi_reads.response_time of the agent (from the call's start)."""


@dataclass
class Report:
    """Everything a report page, chart or export shows."""

    period: Period
    filter: ReportFilter
    ms: ServiceLevelRules
    now: datetime
    by_day: dict[date, CallFigures]
    by_hour: dict[int, CallFigures]
    agents: list[AgentRow]
    notes: NoteFigures | None = None
    qa_available: bool = False
    total: CallFigures = field(default_factory=CallFigures)
    complaint_rate: float | None = None
    """store.kpi_reads.complaint_rate of the period and filter."""
    response_time_s: float | None = None
    """store.kpi_reads.response_time of the period and filter (from the call's start)."""

    @property
    def wrap_up_s(self) -> float | None:
        """Wrap-up seconds counted in AHT: the agents' wrap-up time; None with a queue filter.

        Agent states are not per queue, so with a queue filter AHT is talk + hold only.
        """
        if self.filter.queue:
            return None
        return sum(a.figures.wrap_up_s for a in self.agents)

    @property
    def aht_s(self) -> float | None:
        """Average handling time of the period (seconds), see ``wrap_up_s``."""
        return self.total.aht_s(self.wrap_up_s or 0.0)

    @property
    def service_level(self) -> float | None:
        """Service level with the configured denominator (0..1)."""
        return self.total.service_level(self.ms.denominator)


def add_hours(by_day: dict[date, CallFigures], by_hour: dict[int, CallFigures],
              hours: dict[sql.HourKey, CallFigures]) -> None:
    """Add the figures of (day, hour, queue) buckets to ``by_day`` and ``by_hour``."""
    for (day, hour, _queue), fig in hours.items():
        by_day[day] = by_day[day] + fig if day in by_day else fig
        by_hour[hour] = by_hour[hour] + fig if hour in by_hour else fig


@dataclass
class _Parts:
    by_day: dict[date, CallFigures] = field(default_factory=dict)
    by_hour: dict[int, CallFigures] = field(default_factory=dict)
    agents: dict[str, AgentFigures] = field(default_factory=dict)


async def _figures(conn: asyncpg.Connection, ms: ServiceLevelRules, period: Period,
                   flt: ReportFilter, now: datetime) -> _Parts:
    """Rolled-up days that are over, plus the raw rest (open calls, today, the future).

    With an agent filter the calls' figures are read raw (indexed by agent):
    the hourly rollup has no agent dimension.
    """
    tz, agents = period.tz, flt.agent_list
    last_over = min(period.last, now.astimezone(ZoneInfo(tz)).date() - timedelta(days=1))
    parts, split = _Parts(), period.start
    if last_over >= period.first:
        await rollup.refresh(conn, ms, tz, period.first, last_over)
        split = local_midnight(last_over + timedelta(days=1), tz)
        if not agents:
            parts.by_day, parts.by_hour = await rollup.read_calls(conn, period.first, last_over,
                                                                  flt.queue)
        parts.agents = await rollup.read_agents(conn, period.first, last_over, flt.queue, agents)
    rest = sql.CallQuery(period.start, period.end, now, tz, flt.queue, agents, split=split)
    add_hours(parts.by_day, parts.by_hour, await sql.call_figures_by_hour(
        conn, ms, rest if not agents else replace(rest, split=None)))
    raw = [(k[-1], f) for k, f in (await sql.agent_call_figures(conn, rest)).items()]
    time_end = min(period.end, now)
    if split < time_end:
        times = await sql.agent_time_figures(conn, split, time_end, tz, agents)
        raw += [(k[-1], f) for k, f in times.items()]
    for agent, fig in raw:
        parts.agents = rollup.merge(parts.agents, {agent: fig})
    return parts


async def build_report(pool: asyncpg.Pool, settings: Settings, period: Period,
                       flt: ReportFilter, *, now: datetime | None = None) -> Report:
    """The report of ``period`` for the calls matching ``flt``; open calls measured at ``now``."""
    now = now or datetime.now(UTC)
    ms = ServiceLevelRules.from_settings(settings)
    async with sql.reading(pool) as conn:
        parts = await _figures(conn, ms, period, flt, now)
        notes = await extras.note_counts(conn, start=period.start, end=period.end,
                                         queue=flt.queue, agents=flt.agent_list)
        qa = await extras.qa_averages(conn, start=period.start, end=period.end,
                                      agents=flt.agent_list)
        rates = await kpi_of(conn, kpi_reads.complaint_rate, settings, period, flt, now) \
            if await extras.tables_exist(conn, "complaints", "complaint_events") else {}
        response = await kpi_of(conn, kpi_reads.response_time, settings, period, flt, now)
    by_day = {d: parts.by_day.get(d, CallFigures()) for d in period.days}
    by_hour = {h: parts.by_hour.get(h, CallFigures()) for h in range(24)}
    total = sum(by_day.values(), CallFigures())
    agents = parts.agents
    rows = []
    for agent in sorted(agents.keys() | (qa or {}).keys()):
        fig = agents.get(agent, AgentFigures())
        reviews, average = (qa or {}).get(agent, (0, None))
        rows.append(AgentRow(agent, fig, _notes(notes, agent, fig.answered), reviews, average,
                             rates.get(agent), response.get(agent)))
    return Report(period, flt, ms, now, by_day, by_hour, rows,
                  _notes(notes, CENTRE, total.answered), qa is not None, total,
                  rates.get(CENTRE), response.get(CENTRE))


async def kpi_of(conn: asyncpg.Connection, kpi: kpi_reads.Kpi, settings: Settings,
                 period: Period, flt: ReportFilter, now: datetime) -> dict[str, float | None]:
    """A KPI of store.kpi_reads over the whole period and filter: of the centre (key
    ``CENTRE``) and per agent."""
    q = KpiQuery(period.start, period.end, now, period.tz, "period", "centre",
                 settings.kpi.department_of(), queue=flt.queue, agents=flt.agents)
    out = {v.group: v.value for v in await kpi(conn, replace(q, by="agent")) if v.group}
    centre = await kpi(conn, q)
    out[CENTRE] = centre[0].value if centre else None
    return out


def _notes(counts: dict[str, tuple[int, int]] | None, key: str, answered: int
           ) -> NoteFigures | None:
    if counts is None:
        return None
    return NoteFigures(answered, *counts.get(key, (0, 0)))
