"""Reports of a day with a call whose talk time is unknown: AHT over the known calls, the
call counted apart in the page (en, zh), the exports and the rollup; the wallboard agrees."""

from __future__ import annotations

import io
from datetime import timedelta

import asyncpg
from openpyxl import load_workbook

from callcenter.calls.model import CallRecord
from callcenter.kpis import ServiceLevelRules
from callcenter.live.state import LiveState
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.export import to_csv
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.testing import web_client
from tests.support.reports import answered_ring, local, s

DAY = "period=day&from=2026-11-03"


def call(lid: str, minute: int, talk: float, unknown: list[str] | None = None) -> CallRecord:
    t = local(2026, 11, 3, 10, minute)
    c = CallRecord(server="pbx", linkedid=lid, started_at=t, queue="support", agent="a1",
                   queue_joined_at=t, answered_at=s(t, 10), ended_at=s(t, 10 + talk),
                   disposition="answered", ring_attempts=[answered_ring("a1", t, s(t, 10))])
    if unknown:
        c.unknown, c.hold_s, c.disposition = unknown, None, "incomplete"  # type: ignore[list-item]
    return c


def day_calls() -> list[CallRecord]:
    """Three answered calls; the end of the third was not seen (its 900 s are a bound)."""
    return [call("k1", 0, 100), call("k2", 5, 200), call("u1", 10, 900, ["talk", "hold", "end"])]


async def test_aht_over_the_known_calls_rollup_and_raw_agree(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(day_calls())
    period = parse_period("day", "2026-11-03", None, "Asia/Shanghai")
    settings = Settings()
    raw = await build_report(pool, settings, period, ReportFilter(),
                             now=local(2026, 11, 3, 23, 0))          # the day is not over
    rolled = await build_report(pool, settings, period, ReportFilter(),
                                now=local(2026, 11, 5, 9, 0))         # from report_days
    assert await pool.fetchval("SELECT count(*) FROM report_days") == 1
    for report in (raw, rolled):
        t = report.total
        assert (t.answered, t.handled, t.talk_unknown, t.hold_unknown) == (3, 2, 1, 1)
        assert report.aht_s == 150.0                                  # (100 + 200) / 2
        assert report.agents[0].figures.talk_unknown == 1
        assert report.agents[0].figures.aht_s == 150.0
    assert rolled.total.as_dict() == raw.total.as_dict()
    text = to_csv(raw)
    assert "talk unknown (left out),1" in text and "AHT s,150.0" in text


async def test_page_says_what_is_left_out_in_both_languages(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(day_calls())
    for lang, words in (("en", "1 call(s) with unknown talk time left out of talk time and AHT"),
                        ("zh", "1 个电话的通话时间未知，未计入通话时长和平均处理时长")):
        settings = Settings.model_validate({"web": {"default_language": lang}})
        async with web_client(settings, pool, role="supervisor") as client:
            html = await (await client.get(f"/reports?{DAY}")).text()
        assert words in html, lang
        assert "unknown wait time left out" not in html and "等待时间未知，" not in html
    assert ">通话未知（未计入）<" in html and ">150.0<" in html


async def test_exports_carry_the_unknown_columns(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(day_calls())
    english = Settings.model_validate({"web": {"default_language": "en"}})
    async with web_client(english, pool, role="supervisor") as client:
        wb = load_workbook(io.BytesIO(await (await client.get(
            f"/reports/export.xlsx?{DAY}")).read()))
        csv = (await (await client.get(f"/reports/export.csv?{DAY}")).read()).decode("utf-8-sig")
    summary = dict(list(wb["summary"].iter_rows(values_only=True))[1:])
    assert summary["talk unknown (left out)"] == 1 and summary["hold unknown (left out)"] == 1
    assert summary["wait unknown (left out)"] == 0 and summary["AHT"] == timedelta(seconds=150)
    day = list(wb["by day"].iter_rows(values_only=True))
    assert day[1][day[0].index("talk unknown (left out)")] == 1
    agents = list(wb["agents"].iter_rows(values_only=True))
    assert agents[1][agents[0].index("talk unknown (left out)")] == 1
    assert "talk unknown (left out),1" in csv and "hold unknown (left out),1" in csv


async def test_wallboard_agrees_with_the_daily_report(pool: asyncpg.Pool) -> None:
    calls = day_calls()
    await CallRepository(pool).upsert_calls(calls)
    now = local(2026, 11, 3, 23, 0)
    live = LiveState(ServiceLevelRules(), "Asia/Shanghai", clock=lambda: now)
    live.seed(calls)
    board = live.snapshot(lambda n: n or "")
    period = parse_period("day", "2026-11-03", None, "Asia/Shanghai")
    report = await build_report(pool, Settings(), period, ReportFilter(), now=now)
    assert board["total"]["aht_s"] == report.aht_s == 150.0
    assert board["total"]["talk_unknown"] == report.total.talk_unknown == 1
    assert board["agents"][0]["talk_unknown"] == 1
    assert board["agents"][0]["talk_s"] == 300.0

