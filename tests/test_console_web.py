"""The supervisors' calls and violations pages over HTTP: roles, every filter, keyset
paging, exports in zh and en, bad input, the audit of a viewed call."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook

from callcenter.console.web import FIELDS
from callcenter.settings import Settings
from callcenter.web.i18n import gettext_for
from callcenter.web.testing import web_client
from tests.support.console_seed import FEATURES, add_call, add_violation, scenario, settings

__all__ = ["settings"]  # the fixture

DAY = {"from": "2026-11-02", "to": "2026-11-02", "size": "200"}
ROW = re.compile(r'<tr data-linkedid="([^"]+)"')


async def found(client: Any, **params: str) -> list[str]:
    resp = await client.get("/calls", params=DAY | params)
    assert resp.status == 200, await resp.text()
    return ROW.findall(await resp.text())


FILTERS = [
    ({}, ["c6", "c4", "c3", "c2", "c1"]),
    ({"number": "138*5678"}, ["c1"]),
    ({"number": "138****5678"}, ["c1"]),
    ({"number": "5678"}, ["c3", "c1"]),
    ({"number": "1111"}, ["c2"]),
    ({"agent": "agent1002"}, ["c4", "c2"]),
    ({"queue": "sales"}, ["c3"]),
    ({"direction": "outbound"}, ["c2"]),
    ({"disposition": "abandoned"}, ["c3"]),
    ({"disposition": "open"}, ["c6"]),
    ({"wait_over": "10"}, ["c4", "c3"]),
    ({"violation": "yes"}, ["c1"]),
    ({"violation": "no"}, ["c6", "c4", "c3", "c2"]),
    ({"recording": "yes"}, ["c1"]),
    ({"reviewed": "yes"}, ["c1"]),
    ({"reviewed": "no"}, ["c6", "c4", "c3", "c2"]),
    ({"category": "complaint"}, ["c1"]),
    ({"from": "2026-11-02T14:05", "to": "2026-11-02T14:25"}, ["c3", "c2"]),
    ({"from": "2026-11-01", "number": "138*5678"}, ["c1", "c5"]),
    ({"sort": "wait", "order": "desc"}, ["c3", "c4", "c6", "c1", "c2"]),
    ({"sort": "started", "order": "asc"}, ["c1", "c2", "c3", "c4", "c6"]),
]


async def test_each_filter_keeps_and_drops_the_right_calls(pool: asyncpg.Pool,
                                                           settings: Settings) -> None:
    await scenario(pool)
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as sup:
        for params, expected in FILTERS:
            assert await found(sup, **params) == expected, params


async def test_rows_mask_numbers_and_show_unknown_not_zero(pool: asyncpg.Pool,
                                                           settings: Settings) -> None:
    await scenario(pool)
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        page = await (await qa.get("/calls", params=DAY | {"number": "1111"})).text()
        assert "139****1111" in page and "13900001111" not in page
        assert "unknown" in page and "Not answered" in page
        zh = await (await qa.get("/calls", params=DAY | {"number": "1111"},
                                 headers={"Accept-Language": "zh-CN"})).text()
        assert "未知" in zh and "未接" in zh
        assert 'id="export-csv"' not in page  # QA reads, does not export


@pytest.mark.parametrize("sort", ["started", "wait"])
async def test_keyset_pages_cover_every_call_once(pool: asyncpg.Pool, settings: Settings,
                                                  sort: str) -> None:
    for n in range(23):  # waits tie in threes: the keyset must break ties by call
        await add_call(pool, f"p{n:02d}", n * 0.5, wait_s=float(n // 3))
    seen: list[str] = []
    async with web_client(settings, pool, role="admin", features=FEATURES) as admin:
        url: str | None = "/calls?" + "&".join(f"{k}={v}" for k, v in
                                               (DAY | {"size": "5", "sort": sort}).items())
        pages = 0
        while url:
            page = await (await admin.get(url)).text()
            seen += ROW.findall(page)
            if pages == 1:  # a call arriving meanwhile, newest: not in the next pages
                await add_call(pool, "late", 60)
            pages += 1
            nxt = re.search(r'href="([^"]+)" id="next-page"', page)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert pages == 5
    assert sorted(seen) == sorted(f"p{n:02d}" for n in range(23))
    assert len(seen) == len(set(seen))


async def test_roles(pool: asyncpg.Pool, settings: Settings) -> None:
    await scenario(pool)
    paths = ["/calls", "/calls/pbx1/c1", "/violations", "/calls/export.csv"]
    expected = {"admin": [200, 200, 200, 200], "supervisor": [200, 200, 200, 200],
                "qa": [200, 200, 200, 403], "agent": [403, 403, 403, 403]}
    for role, statuses in expected.items():
        async with web_client(settings, pool, role=role, features=FEATURES) as client:
            got = [(await client.get(p, allow_redirects=False)).status for p in paths]
            assert got == statuses, role
            nav = await (await client.get("/account")).text() if role == "agent" else ""
            assert 'href="/calls"' not in nav
    async with web_client(settings, pool, role=None, features=FEATURES) as anonymous:
        resp = await anonymous.get("/calls", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")


BAD = [
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-01"}, "to"),
    ({"from": "2026-11-02", "to": "2026-11-01"}, "to"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),
    ({"number": "12"}, "number"), ({"number": "abc123"}, "number"),
    ({"number": "1" * 40}, "number"),
    ({"agent": "a" * 65}, "agent"), ({"queue": "sup\x00port"}, "queue"),
    ({"direction": "sideways"}, "direction"), ({"disposition": "lost"}, "disposition"),
    ({"wait_over": "-1"}, "wait_over"), ({"wait_over": "ten"}, "wait_over"),
    ({"wait_over": "99999999"}, "wait_over"),
    ({"violation": "maybe"}, "violation"), ({"recording": "1"}, "recording"),
    ({"reviewed": "true"}, "reviewed"), ({"sort": "caller"}, "sort"),
    ({"order": "up"}, "order"), ({"after": "!!!"}, "after"), ({"after": "WzEsMl0"}, "after"),
    ({"size": "0"}, "size"), ({"size": "1000"}, "size"),
]


@pytest.mark.parametrize(("params", "field"), BAD)
async def test_bad_input_is_a_400_naming_the_field(pool: asyncpg.Pool, settings: Settings,
                                                   params: dict[str, str], field: str) -> None:
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as sup:
        resp = await sup.get("/calls", params=DAY | params)
        assert resp.status == 400
        page = await resp.text()
        label = (FIELDS[field], gettext_for("zh")(FIELDS[field]))
        assert f'data-field="{field}"' in page and f"{label[0]}: " in page
        zh = await sup.get("/calls", params=DAY | params, headers={"Accept-Language": "zh"})
        text = await zh.text()
        assert zh.status == 400 and f"{label[1]}：" in text and f"（{field}）" not in text
        export = await sup.get("/calls/export.xlsx", params=DAY | params)
        assert export.status == 400 and f"{label[0]}: " in await export.text()


async def test_bad_violations_range_is_a_400(pool: asyncpg.Pool, settings: Settings) -> None:
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as sup:
        resp = await sup.get("/violations", params={"from": "2026-11-05", "to": "2026-11-01"})
        assert resp.status == 400 and 'data-field="to"' in await resp.text()


async def test_export_csv_and_xlsx_in_the_users_language(pool: asyncpg.Pool,
                                                         settings: Settings) -> None:
    await scenario(pool)
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as sup:
        resp = await sup.get("/calls/export.csv", params=DAY | {"size": "1"})
        assert resp.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
        assert rows[0][:4] == ["Started", "Direction", "Caller", "Called number"]
        assert len(rows) == 6  # every match, not one page
        c2 = next(r for r in rows if r[-1] == "c2")
        assert c2[1:4] == ["Outbound", "1002", "139****1111"]
        assert c2[6:8] == ["Not answered", "unknown"]
        assert next(r for r in rows if r[-1] == "c1")[2] == "138****5678"

        zh = await sup.get("/calls/export.xlsx", params=DAY | {"violation": "yes"},
                           headers={"Accept-Language": "zh-CN"})
        ws = load_workbook(io.BytesIO(await zh.read())).active
        values = list(ws.values)
        assert values[0][:4] == ("开始", "方向", "主叫号码", "被叫号码")
        assert len(values) == 2 and values[1][1] == "呼入" and values[1][6] == "已接听"
        assert values[1][-1] == "c1" and values[1][10] == 1
        entries = await pool.fetch("SELECT * FROM audit_log WHERE action = 'calls_exported'"
                                   " ORDER BY id")
        assert [e["details"]["format"] for e in entries] == ["csv", "xlsx"]


async def test_viewing_a_call_is_audited_and_shows_its_story(pool: asyncpg.Pool,
                                                             settings: Settings) -> None:
    await scenario(pool)
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as sup:
        resp = await sup.get("/calls/pbx1/c1")
        page = await resp.text()
        assert resp.status == 200
        assert "Three-ring violation" in page and "Ringing stopped (hang-up)" in page
        assert "Done" in page and "Not picked up" in page and "Answered by agent1001" in page
        assert 'src="/recordings/pbx1/c1/c1.wav"' in page and "data-player" in page
        assert "customer waited long" in page and "88.5" in page
        assert "The customer hung up" in page and "138****5678" in page
        [entry] = await pool.fetch("SELECT * FROM audit_log WHERE action = 'call_viewed'")
        assert (entry["actor"], entry["object"]) == ("test_supervisor", "call:pbx1/c1")
        c2 = await (await sup.get("/calls/pbx1/c2", headers={"Accept-Language": "zh"})).text()
        assert re.search(r'id="wait"><span class="unknown">未知', c2)
        assert re.search(r'id="talk"><span class="unknown">未知', c2)
        assert (await sup.get("/calls/pbx1/nope")).status == 404
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'call_viewed'") == 2


async def test_violations_page_by_day_agent_queue(pool: asyncpg.Pool,
                                                  settings: Settings) -> None:
    await scenario(pool)
    await add_violation(pool, "c3", agent="agent1003", queue="sales", action="redirect",
                        result="failed")
    await add_violation(pool, "c5")  # the day before
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        page = await (await qa.get("/violations", params={"from": "2026-11-02",
                                                          "to": "2026-11-02"})).text()
        by_agent = page.split('id="by-agent"')[1].split("</table>")[0]
        assert "agent1002" in by_agent and "agent1003" in by_agent
        assert re.search(r"2026-11-02</td><td class=\"num\">2<", page)
        assert "2026-11-01" not in page.split('id="by-day"')[1].split("</table>")[0]
        assert 'href="/calls/pbx1/c3"' in page and 'href="/calls/pbx1/c5"' not in page
        assert "Call redirected" in page and "Failed" in page
        sales = await (await qa.get("/violations", params={
            "from": "2026-11-01", "to": "2026-11-02", "queue": "sales"})).text()
        assert 'href="/calls/pbx1/c3"' in sales and 'href="/calls/pbx1/c1"' not in sales


async def test_violations_page_through_keyset_pages(pool: asyncpg.Pool, settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from callcenter.console import web as console

    monkeypatch.setattr(console, "VIOLATIONS_PAGE", 2)
    for n in range(5):
        await add_call(pool, f"v{n}", n)
        await add_violation(pool, f"v{n}")
    seen: list[str] = []
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as sup:
        url: str | None = "/violations?from=2026-11-02&to=2026-11-02"
        while url:
            page = await (await sup.get(url)).text()
            assert '<td class="num">5</td>' in page.split('id="by-agent"')[1]  # all counted
            seen += re.findall(r'href="/calls/pbx1/(v\d)"', page)
            nxt = re.search(r'href="([^"]+)" id="next-page"', page)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == ["v4", "v3", "v2", "v1", "v0"]
