"""The survey's figures pinned to their definitions on hand-computed calls: pure, stored
(per agent, queue, local day), on the report page and API, the wallboard, the call page and
the agent's day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from callcenter.calls.model import CallRecord
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.survey.figures import SurveyFigures, survey_figures
from callcenter.survey.report import survey_report
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client

TZ = ZoneInfo("Asia/Shanghai")
ENGLISH = Settings.model_validate({"web": {"default_language": "en"}})


def call(lid: str, local: datetime, queue: str, agent: str, offered: bool,
         score: int | None) -> CallRecord:
    t = local.replace(tzinfo=TZ).astimezone(UTC)
    return CallRecord("pbx1", lid, t, direction="inbound", caller=f"1380000{lid}",
                      queue=queue, agent=agent, queue_joined_at=t,
                      answered_at=t + timedelta(seconds=5), ended_at=t + timedelta(seconds=90),
                      disposition="answered", hangup_by="agent" if offered else "caller",
                      survey_offered=offered, survey_score=score)


def calls(day1: date = date(2026, 11, 3)) -> list[CallRecord]:
    """Two local days (Asia/Shanghai); F starts 07:00 local on day 2, still day 1 in UTC."""
    d1, d2 = datetime.combine(day1, datetime.min.time()), datetime.combine(
        day1 + timedelta(days=1), datetime.min.time())
    return [
        call("A", d1.replace(hour=9), "support", "agent1001", True, 5),
        call("B", d1.replace(hour=10), "support", "agent1001", True, 4),
        call("C", d1.replace(hour=11), "support", "agent1002", True, None),  # no key
        call("D", d1.replace(hour=12), "sales", "agent1002", True, 2),
        call("E", d1.replace(hour=13), "support", "agent1001", False, None),  # caller hung up
        call("F", d2.replace(hour=7), "support", "agent1002", True, 3),
        call("G", d2.replace(hour=9), "sales", "agent1003", True, None),
    ]


# offered, answered, response rate, average score, CSAT: by hand from the calls above
TOTAL = (6, 4, 4 / 6, 14 / 4, 2 / 4)
BY_AGENT = {"agent1001": (2, 2, 1.0, 4.5, 1.0), "agent1002": (3, 2, 2 / 3, 2.5, 0.0),
            "agent1003": (1, 0, 0.0, None, None)}
BY_QUEUE = {"sales": (2, 1, 0.5, 2.0, 0.0), "support": (4, 3, 0.75, 4.0, 2 / 3)}
BY_DAY = {date(2026, 11, 3): (4, 3, 0.75, 11 / 3, 2 / 3),
          date(2026, 11, 4): (2, 1, 0.5, 3.0, 0.0)}


def figures(f: SurveyFigures) -> tuple[object, ...]:
    return (f.offered, f.answered, f.response_rate, f.average_score, f.csat)


def test_figures_follow_their_definitions() -> None:
    assert figures(survey_figures(calls())) == pytest.approx(TOTAL)
    assert figures(SurveyFigures()) == (0, 0, None, None, None)  # unknown, not 0
    only_silence = survey_figures([calls()[2]])
    assert figures(only_silence) == (1, 0, 0.0, None, None)


async def test_stored_figures_per_agent_queue_and_local_day(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(calls())
    start = datetime(2026, 11, 3, tzinfo=TZ).astimezone(UTC)
    report = await survey_report(pool, start=start, end=start + timedelta(days=2),
                                 timezone="Asia/Shanghai")
    assert figures(report.total) == pytest.approx(TOTAL)
    assert {k: figures(v) for k, v in report.by_agent.items()} == pytest.approx(BY_AGENT)
    assert {k: figures(v) for k, v in report.by_queue.items()} == pytest.approx(BY_QUEUE)
    assert {k: figures(v) for k, v in report.by_day.items()} == pytest.approx(BY_DAY)
    team = await survey_report(pool, start=start, end=start + timedelta(days=2),
                               timezone="Asia/Shanghai", queue="support",
                               agents=["agent1002"])
    assert figures(team.total) == pytest.approx((2, 1, 0.5, 3.0, 0.0))  # C, F


async def test_report_page_and_api(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(calls())
    query = "period=range&from=2026-11-03&to=2026-11-04"
    async with web_client(ENGLISH, pool, role="supervisor") as client:
        html = await (await client.get(f"/reports?{query}")).text()
        api = await (await client.get(f"/api/v1/reports?{query}")).json()
        empty = await (await client.get("/reports?period=day&from=2026-10-01")).text()
    assert 'id="survey-by-agent"' in html and 'id="survey-by-day"' in html
    row = html.split('<tr data-key="agent1003">')[1].split("</tr>")[0]
    assert '<td class="num csat">–</td>' in row and '<td class="num response-rate">0%</td>' in row
    row = html.split('<tr data-key="agent1002">')[1].split("</tr>")[0]
    assert '<td class="num csat">0%</td>' in row and '<td class="num average">2.5</td>' in row
    assert "Share of answered surveys scoring 4 or 5" in html  # the definition shown
    assert api["survey"]["total"]["csat"] == 0.5
    assert api["survey"]["by_day"]["2026-11-04"]["offered"] == 2
    assert api["survey"]["by_agent"]["agent1003"]["csat"] is None
    assert 'id="survey-none"' in empty


async def test_call_page_shows_the_score(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(calls())
    async with web_client(ENGLISH, pool, role="supervisor") as client:
        pages = {lid: await (await client.get(f"/calls/pbx1/{lid}")).text()
                 for lid in ("A", "C", "E")}
    assert '<strong class="survey-score">5</strong> / 5' in pages["A"]
    assert "surveyed, no answer" in pages["C"]
    assert "not surveyed" in pages["E"]


def today_calls() -> list[CallRecord]:
    """The calls of :func:`calls`, moved to start today (Asia/Shanghai) an hour ago."""
    now = datetime.now(TZ)
    out = []
    for c in calls(now.date()):
        t = max(datetime.combine(now.date(), datetime.min.time(), TZ),
                now - timedelta(hours=1)).astimezone(UTC)
        c.started_at = c.queue_joined_at = t
        c.answered_at, c.ended_at = t + timedelta(seconds=5), t + timedelta(seconds=60)
        out.append(c)
    return out


async def wallboard(pool: asyncpg.Pool, stored: list[CallRecord]) -> tuple[dict[str, Any], str]:
    """/api/v1/live and the /wallboard page (English) with ``stored`` as today's calls."""
    settings = Settings()
    await CallRepository(pool).upsert_calls(stored)
    live = LiveConsumer.from_settings(settings)
    async with web_client(settings, pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        data = await (await client.get("/api/v1/live")).json()
        html = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
    await live.close()
    return data, html


async def test_wallboard_shows_today_csat_per_queue(pool: asyncpg.Pool) -> None:
    data, html = await wallboard(pool, today_calls())
    queues = {q["name"]: q for q in data["surveys"]["queues"]}
    assert (queues["support"]["answered"], queues["support"]["csat"]) == (3, pytest.approx(2 / 3))
    assert (queues["sales"]["answered"], queues["sales"]["csat"]) == (1, 0.0)
    assert data["surveys"]["total"]["csat"] == 0.5
    assert 'id="survey-board"' in html
    row = html.split('<tr data-queue="support">', 2)[-1].split("</tr>")[0]
    assert '<td class="num csat">67%</td>' in row


async def test_wallboard_csat_is_unknown_without_answers(pool: asyncpg.Pool) -> None:
    data, html = await wallboard(pool, [c for c in today_calls() if c.linkedid in ("C", "G")])
    assert data["surveys"]["total"] == {"offered": 2, "answered": 0, "satisfied": 0,
                                        "response_rate": 0.0, "average_score": None,
                                        "csat": None}
    row = html.split('<tr data-queue="support">', 2)[-1].split("</tr>")[0]
    assert '<td class="num csat">–</td>' in row


async def test_agents_day_has_their_survey_figures(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(today_calls())
    async with web_client(ENGLISH, pool, role="agent", agent="agent1002") as client:
        day = await (await client.get("/api/agent/day")).json()
        home = await (await client.get("/")).text()
    assert day["survey"] == {"offered": 3, "answered": 2, "satisfied": 0,
                             "response_rate": pytest.approx(2 / 3), "average_score": 2.5,
                             "csat": 0.0}
    assert '<strong id="day-csat">0%</strong>' in home


async def test_exports_carry_the_survey_tables(pool: asyncpg.Pool) -> None:
    import io

    from openpyxl import load_workbook

    await CallRepository(pool).upsert_calls(calls())
    query = "period=range&from=2026-11-03&to=2026-11-04"
    async with web_client(ENGLISH, pool, role="supervisor") as client:
        text = (await (await client.get(f"/reports/export.csv?{query}")).read()).decode(
            "utf-8-sig")
    async with web_client(Settings(), pool, role="supervisor") as client:  # Chinese
        book = load_workbook(io.BytesIO(await (await client.get(
            f"/reports/export.xlsx?{query}")).read()))
    part = text.split("# survey by agent\n")[1].split("\n\n")[0].splitlines()
    assert part[0] == "agent,Surveys offered,Survey answers,Response rate,Average score,CSAT"
    assert part[1:] == ["agent1001,2,2,100.0,4.5,100.0", "agent1002,3,2,66.7,2.5,0.0",
                        "agent1003,1,0,0.0,,"]  # unknown is empty, not 0
    assert "# survey by day\nday,Surveys offered" in text and "2026-11-04,2,1,50.0,3.0,0.0" in text
    rows = list(book["满意度调查（按队列）"].iter_rows(values_only=True))
    assert rows[0] == ("队列", "调查数", "答复数", "答复率", "平均分", "满意率")
    assert rows[1:] == [("sales", 2, 1, 50.0, 2.0, 0.0), ("support", 4, 3, 75.0, 4.0, 66.7)]
