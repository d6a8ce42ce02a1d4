"""The supervisors' calls and violations pages over HTTP: roles, every filter, keyset
paging, exports in zh and en, bad input, the audit of a viewed call."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook

from callcenter.settings import Settings
from callcenter.web.testing import web_client

FEATURES = ("callcenter.recordings.http", "callcenter.console.web")
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
"""14:00 in Shanghai, 2026-11-02."""
DAY = {"from": "2026-11-02", "to": "2026-11-02", "size": "200"}
ROW = re.compile(r'<tr data-linkedid="([^"]+)"')


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.web.default_language = "en"
    return s


async def add_call(pool: asyncpg.Pool, linkedid: str, minute: float, **cols: Any) -> None:
    """Store an ended inbound call answered by agent1001 in support (``cols`` override)."""
    start = T0 + timedelta(minutes=minute)
    row: dict[str, Any] = {
        "server": "pbx1", "linkedid": linkedid, "direction": "inbound",
        "caller": "13800000000", "callee": "800", "queue": "support", "agent": "agent1001",
        "started_at": start, "queue_joined_at": start, "answered_at": start + timedelta(seconds=5),
        "ended_at": start + timedelta(seconds=105), "wait_s": 5.0, "talk_s": 100.0,
        "hold_s": 0.0, "hangup_by": "caller", "disposition": "answered"} | cols
    names = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await pool.execute(f"INSERT INTO calls ({names}) VALUES ({marks})", *row.values())


async def add_violation(pool: asyncpg.Pool, linkedid: str, agent: str = "agent1002",
                        queue: str | None = "support", action: str = "hangup",
                        result: str = "ok") -> None:
    """A ring-no-answer of ``agent`` on the call with its three-ring violation."""
    start = await pool.fetchval("SELECT started_at FROM calls WHERE linkedid = $1", linkedid)
    await pool.execute(
        "INSERT INTO ring_attempts (server, linkedid, idx, agent, interface, queue, started_at,"
        " ended_at, ring_s, rings, outcome, within_rule) VALUES ('pbx1', $1, 0, $2,"
        " 'PJSIP/' || $2, $3, $4::timestamptz, $4::timestamptz + interval '16 s', 16, 4, 'no_answer', false)",
        linkedid, agent, queue, start)
    await pool.execute(
        "INSERT INTO violations (server, linkedid, idx, agent, interface, queue, ring_s, rings,"
        " deadline_s, at, action, result) VALUES ('pbx1', $1, 0, $2, 'PJSIP/' || $2, $3, 15,"
        " 3, 15, $4::timestamptz + interval '15 s', $5, $6)", linkedid, agent, queue, start, action, result)


async def add_recording(pool: asyncpg.Pool, linkedid: str, status: str = "ready") -> None:
    await pool.execute(
        "INSERT INTO recordings (server, linkedid, file_name, status, path, format, duration_s,"
        " call_started_at) SELECT server, linkedid, linkedid || '.wav', $2, linkedid || '.wav',"
        " 'wav', 6, started_at FROM calls WHERE linkedid = $1", linkedid, status)


async def add_review(pool: asyncpg.Pool, linkedid: str, status: str) -> None:
    await pool.execute("INSERT INTO qa_samples (server, linkedid, week, agent, reasons, seed)"
                       " VALUES ('pbx1', $1, '2026-W45', 'agent1001', '{random}', 1)", linkedid)
    aid = await pool.fetchval("INSERT INTO qa_assignments (server, linkedid, inspector)"
                              " VALUES ('pbx1', $1, 'test_qa') RETURNING id", linkedid)
    await pool.execute(
        "INSERT INTO qa_reviews (assignment_id, server, linkedid, inspector, agent, form_id,"
        " form_version, form_hash, form_definition, total, status) VALUES ($1, 'pbx1', $2,"
        " 'test_qa', 'agent1001', 'f', 1, 'h', '{}', 88.5, $3)", aid, linkedid, status)


async def add_note(pool: asyncpg.Pool, linkedid: str, category: str) -> None:
    await pool.execute("INSERT INTO call_notes (server, linkedid, agent, category, content)"
                       " VALUES ('pbx1', $1, 'agent1001', $2, 'customer waited long')",
                       linkedid, category)


async def scenario(pool: asyncpg.Pool) -> None:
    """Calls of 2026-11-02 (Shanghai) that each filter must tell apart, and one the day
    before with c1's number."""
    await add_call(pool, "c1", 0, caller="13812345678")
    await add_violation(pool, "c1")
    await add_recording(pool, "c1")
    await add_review(pool, "c1", "submitted")
    await add_note(pool, "c1", "complaint")
    await add_call(pool, "c2", 10, direction="outbound", caller="1002", callee="13900001111",
                   queue=None, agent="agent1002", queue_joined_at=None, answered_at=None,
                   wait_s=None, talk_s=None, disposition="no_answer", hangup_by=None)
    await add_call(pool, "c3", 20, caller="13712345678", queue="sales", agent=None,
                   answered_at=None, wait_s=90.0, talk_s=None, disposition="abandoned")
    await add_call(pool, "c4", 30, caller="13855556666", agent="agent1002", wait_s=20.0)
    await add_recording(pool, "c4", "missing")
    await add_review(pool, "c4", "draft")
    await add_note(pool, "c4", "inquiry")
    await add_call(pool, "c6", 40, ended_at=None, disposition=None, talk_s=None)
    await add_call(pool, "c5", -24 * 60, caller="13812345678")


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
        assert f'data-field="{field}"' in page and f"({field})" in page
        zh = await sup.get("/calls", params=DAY | params, headers={"Accept-Language": "zh"})
        text = await zh.text()
        assert zh.status == 400 and f"（{field}）" in text
        export = await sup.get("/calls/export.xlsx", params=DAY | params)
        assert export.status == 400 and f"({field})" in await export.text()


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
