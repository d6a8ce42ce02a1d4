"""The report pages: roles, filters, tooltips, charts, exports (audited), API, bad input."""

from __future__ import annotations

import io

import asyncpg
import pytest
from openpyxl import load_workbook

from callcenter.settings import Settings
from callcenter.web.testing import web_client
from tests.support.reports import QUERY, loaded
from tests.support.wait import until

__all__ = ["loaded"]  # the fixture

ENGLISH = Settings.model_validate({"web": {"default_language": "en"}})


async def test_page_shows_figures_charts_and_definitions(loaded: asyncpg.Pool) -> None:
    settings = Settings.model_validate({"web": {"default_language": "en"}})
    async with web_client(settings, loaded, role="supervisor") as client:
        resp = await client.get(f"/reports?{QUERY}")
        assert resp.status == 200
        html = await resp.text()
    assert "2026-11-03..2026-11-04" in html
    assert html.count("<svg") == 3 and "<title>11-03 answered: 2</title>" in html
    assert 'title="Inbound calls that started in the period' in html       # a tooltip
    assert "/reports/export.xlsx?" + QUERY in html.replace("&amp;", "&")
    assert '<td class="num">212.5</td>' in html or ">212.5<" in html       # AHT


async def test_page_in_chinese(loaded: asyncpg.Pool) -> None:
    settings = Settings.model_validate({"web": {"default_language": "zh"}})
    async with web_client(settings, loaded, role="supervisor") as client:
        html = await (await client.get(f"/reports?{QUERY}")).text()
    assert "<h1>报表" in html and "每日来电量与服务水平" in html
    assert 'title="本期间开始的呼入电话总数' in html                   # the zh definition


@pytest.mark.parametrize("role", ["agent", "qa"])
async def test_other_roles_are_refused(loaded: asyncpg.Pool, role: str) -> None:
    async with web_client(Settings(), loaded, role=role) as client:
        for path in ("/reports", "/reports/export.csv", "/api/v1/reports"):
            resp = await client.get(path, allow_redirects=False)
            assert resp.status == 403, path


async def test_exports_match_and_are_audited(loaded: asyncpg.Pool) -> None:
    async with web_client(ENGLISH, loaded, role="admin") as client:
        resp = await client.get(f"/reports/export.xlsx?{QUERY}&queue=support")
        assert resp.status == 200
        assert "report-2026-11-03..2026-11-04.xlsx" in resp.headers["Content-Disposition"]
        wb = load_workbook(io.BytesIO(await resp.read()))
        summary = dict(list(wb["summary"].iter_rows(values_only=True))[1:])
        assert summary["filter"] == "queue support" and summary["offered"] == 4  # A B D E
        resp = await client.get(f"/reports/export.csv?{QUERY}")
        text = (await resp.read()).decode("utf-8-sig")
        assert text.startswith("# summary\nmetric,value\nperiod,2026-11-03..2026-11-04\n")
        api = await (await client.get(f"/api/v1/reports?{QUERY}&agent=a2")).json()
    assert api["filter"] == {"queue": None, "agents": ["a2"]}
    assert dict(api["tables"]["summary"]["rows"])["offered"] == 1
    rows = await loaded.fetch("SELECT action, details FROM audit_log WHERE action = $1"
                              " ORDER BY id", "report_exported")
    assert [r["details"]["format"] for r in rows] == ["xlsx", "csv"]


async def test_bad_parameters_say_what_is_wrong(loaded: asyncpg.Pool) -> None:
    async with web_client(Settings(), loaded, role="supervisor") as zh:
        resp = await zh.get("/reports?period=month&from=2026-02-30")
        assert resp.status == 400 and "起始日：&#39;2026-02-30&#39; 不是有效日期" in await resp.text()
    async with web_client(ENGLISH, loaded, role="supervisor") as client:
        resp = await client.get("/reports?period=month&from=2026-02-30")
        assert resp.status == 400
        assert "from: not a date (YYYY-MM-DD): &#39;2026-02-30&#39;" in await resp.text()
        resp = await client.get("/api/v1/reports?period=fortnight")
        assert resp.status == 400
        assert (await resp.json())["error"] == ("period: 'fortnight' is not one of day, week,"
                                                " month, range")
        resp = await client.get("/reports/export.csv?period=range&from=2026-11-05&to=2026-11-01")
        assert resp.status == 400


async def test_the_app_keeps_recent_days_rolled_up(loaded: asyncpg.Pool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    import callcenter.reports.web as reports_web

    monkeypatch.setattr(reports_web, "KEEP_FIRST_S", 0.05)
    monkeypatch.setattr(reports_web, "KEEP_DAYS", 20)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    async def rolled_up() -> bool:
        return await loaded.fetchval("SELECT count(*) FROM report_days") == 20

    async with web_client(Settings(), loaded, role=None):
        await until(rolled_up)
    assert await loaded.fetchval("SELECT count(*) FROM report_days") == reports_web.KEEP_DAYS
    assert await loaded.fetchval("SELECT max(day) FROM report_days") == today - timedelta(days=1)
