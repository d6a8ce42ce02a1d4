"""The KPI report page and its exports: the definitions shown, unknown as "—", bad input
named, exports audited (the rows of tests/test_kpi_reads.py)."""

from __future__ import annotations

import csv
import io

import asyncpg

from callcenter.settings import Settings
from callcenter.web.testing import web_client
from tests.support.agent_panel import settings
from tests.support.kpi import world

__all__ = ["settings", "world"]  # the fixtures
QUERY = "grain=month&from=2026-11-01&to=2026-11-30"


async def test_the_kpi_page_shows_values_and_definitions(world: asyncpg.Pool,
                                                         settings: Settings) -> None:
    async with web_client(settings, world, role="supervisor") as client:
        page = await (await client.get(f"/reports/kpi?{QUERY}&by=agent")).text()
        assert "Complaint rate = complaining customers / customers served." in page
        assert "Response time = mean of (first answer - the call&#39;s start)" in page
        assert "<td>(none)</td>" in page and "—" in page  # k4: no agent, nobody served
        bad = await client.get("/reports/kpi?grain=fortnight")
        assert bad.status == 400 and "grain" in await bad.text()
        late = await client.get("/reports/kpi?from=2026-12-01&to=2026-11-01")
        assert late.status == 400 and 'id="kpi-error"' in await late.text()
        exported = await client.get(f"/reports/kpi/export.csv?{QUERY}&by=agent")
        assert exported.status == 200
        rows = list(csv.reader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    head = rows[0]
    a1 = dict(zip(head, next(r for r in rows if r[1] == "a1"), strict=True))
    # a1: complaint rate 1/2; survey 1 of 2 + verdict 1 of 1 -> 2/3; QA 2 of 3; response
    # time of c1 20 s, c2 40 s, c7 50 s
    assert (a1["Period"], a1["Complaint rate %"], a1["Satisfaction rate %"]) == (
        "2026-11", "50.0", "66.7")
    assert a1["Service-norm compliance %"] == "66.7"
    assert float(a1["Response time"]) == round((20 + 40 + 50) / 3, 1)
    none = dict(zip(head, next(r for r in rows if r[1] == "(none)"), strict=True))
    assert none["Complaint rate %"] == ""  # unknown: empty, not 0
    audited = await world.fetchval("SELECT count(*) FROM audit_log"
                                   " WHERE action = 'kpi_report_exported'")
    assert audited == 1


async def test_the_kpi_page_in_chinese(world: asyncpg.Pool, settings: Settings) -> None:
    settings.web.default_language = "zh"
    async with web_client(settings, world, role="supervisor") as client:
        page = await (await client.get(f"/reports/kpi?{QUERY}&by=reason")).text()
        assert "投诉率 = 投诉客户数 / 服务客户数" in page and "服务态度" in page
        xlsx = await client.get(f"/reports/kpi/export.xlsx?{QUERY}&grain=quarter")
        assert xlsx.status == 200 and (await xlsx.read())[:2] == b"PK"
