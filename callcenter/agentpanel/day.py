"""The agent's own day: calls, talk time, missed rings, latest QA scores."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from callcenter.actors import Actor
from callcenter.agentpanel.access import agent_of
from callcenter.store.notes import NoteRepository
from callcenter.survey.figures import SurveyFigures
from callcenter.survey.report import grouped


def local_date(now: datetime, tz: ZoneInfo) -> date:
    """The calendar date of ``now`` in the centre's time zone ``tz``."""
    return now.astimezone(tz).date()


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` in ``tz``, as UTC datetimes."""
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


class AgentDay:
    """An agent's figures and calls for one local day."""

    def __init__(self, pool: asyncpg.Pool, timezone: str) -> None:
        self.pool = pool
        self.notes = NoteRepository(pool)
        self.tz = ZoneInfo(timezone)

    async def summary(self, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
        """Today's calls handled, talk seconds, missed rings, QA scores, post-call survey
        figures (:meth:`callcenter.survey.figures.SurveyFigures.as_dict`) and calls (newest
        first) of the signed-in agent."""
        agent = agent_of(actor)
        since, until = day_bounds(local_date(now or datetime.now(UTC), self.tz), self.tz)
        figures = await self.notes.agent_day(agent, since, until)
        survey = await grouped(self.pool, "all", start=since, end=until, agents=[agent])
        figures["survey"] = survey.get(None, SurveyFigures()).as_dict()
        figures["call_list"] = await self.notes.agent_calls(agent, since, until)
        return figures
