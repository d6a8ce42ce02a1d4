"""The survey's figures of a period: per agent, queue and day, and today's per queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from callcenter.store.surveys import Grouping, survey_counts
from callcenter.survey.figures import SATISFIED_MIN, SurveyFigures


@dataclass
class SurveyReport:
    """A period's survey figures: in total, per agent, per queue, per local day."""

    total: SurveyFigures = field(default_factory=SurveyFigures)
    by_agent: dict[str, SurveyFigures] = field(default_factory=dict)
    by_queue: dict[str, SurveyFigures] = field(default_factory=dict)
    by_day: dict[date, SurveyFigures] = field(default_factory=dict)


async def grouped(conn: asyncpg.Connection | asyncpg.Pool, by: Grouping, *, start: datetime,
                  end: datetime, timezone: str = "UTC", queue: str | None = None,
                  agents: list[str] | None = None) -> dict[str | date | None, SurveyFigures]:
    """:func:`survey_counts` as :class:`SurveyFigures`."""
    counts = await survey_counts(conn, by, start=start, end=end, satisfied_min=SATISFIED_MIN,
                                 timezone=timezone, queue=queue, agents=agents)
    return {k: SurveyFigures(*c) for k, c in counts.items()}


async def survey_report(pool: asyncpg.Pool, *, start: datetime, end: datetime, timezone: str,
                        queue: str | None = None, agents: list[str] | None = None
                        ) -> SurveyReport:
    """The survey figures of the calls started in [start, end) (a queue, a team)."""
    async with pool.acquire() as conn:
        parts = {by: await grouped(conn, by, start=start, end=end, timezone=timezone,
                                   queue=queue, agents=agents)
                 for by in ("all", "agent", "queue", "day")}
    return SurveyReport(
        total=parts["all"].get(None, SurveyFigures()), by_agent=_by_name(parts["agent"]),
        by_queue=_by_name(parts["queue"]),
        by_day={k: v for k, v in sorted(parts["day"].items(), key=lambda kv: str(kv[0]))
                if isinstance(k, date)})


def _by_name(groups: dict[str | date | None, SurveyFigures]) -> dict[str, SurveyFigures]:
    """Groups by name, sorted ('' for calls without an agent or queue)."""
    return dict(sorted((str(k or ""), v) for k, v in groups.items()))
