"""Survey counts of stored calls, grouped by agent, queue or local day.

The counts (offered, answered, satisfied, score sum) are those
:class:`callcenter.survey.figures.SurveyFigures` defines its figures with.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import asyncpg

Grouping = Literal["agent", "queue", "day", "all"]
Counts = tuple[int, int, int, int]
"""(offered, answered, satisfied, score sum)."""
_KEYS: dict[Grouping, str] = {
    "agent": "agent", "queue": "queue",
    "day": "(started_at AT TIME ZONE $6)::date", "all": "NULL::text"}

_COUNTS = """SELECT {key} AS key, count(*) AS offered, count(survey_score) AS answered,
       count(*) FILTER (WHERE survey_score >= $4) AS satisfied,
       coalesce(sum(survey_score), 0) AS score_sum
FROM calls
WHERE survey_offered AND started_at >= $1 AND started_at < $2
  AND ($3::text IS NULL OR queue = $3) AND ($5::text[] IS NULL OR agent = ANY($5))
GROUP BY 1"""


async def survey_counts(conn: asyncpg.Connection | asyncpg.Pool, by: Grouping, *,
                        start: datetime, end: datetime, satisfied_min: int,
                        timezone: str = "UTC", queue: str | None = None,
                        agents: list[str] | None = None) -> dict[str | date | None, Counts]:
    """The survey counts of the calls started in [start, end) (of ``queue`` and
    ``agents`` when given; satisfied: a score of ``satisfied_min`` or more), grouped
    ``by`` agent, queue, local day in ``timezone``, or all together (key None).
    Groups without a surveyed call are absent."""
    args: list[object] = [start, end, queue, satisfied_min, agents]
    if by == "day":
        args.append(timezone)
    rows = await conn.fetch(_COUNTS.format(key=_KEYS[by]), *args)
    return {r["key"]: (r["offered"], r["answered"], r["satisfied"], int(r["score_sum"]))
            for r in rows}
