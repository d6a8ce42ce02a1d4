"""Exports, the CLI, Asterisk's replies and error pages in the user's language (issue #20).

Report and call exports with Chinese headers and words, durations as typed
``[h]:mm:ss`` times, columns as wide as their text (CJK counts double); ``report``
and ``calls`` with ``--lang``; Asterisk's English replies mapped to our sentences;
400/403/404/500 as pages in the layout with a way back.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook

from callcenter.cli import main
from callcenter.commands import CommandResult
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.export import to_csv, to_xlsx
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from callcenter.web.i18n import gettext_for
from callcenter.web.replies import FAILED, KNOWN, reply_msgid, reply_text
from callcenter.web.sheets import DURATION_FORMAT, text_width
from callcenter.web.testing import web_client
from tests.support.console_seed import scenario

ZH = gettext_for("zh")
DAY = "from=2026-11-02&to=2026-11-02"


async def day_report(pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    await scenario(pool)
    period = parse_period("day", "2026-11-02", None, "Asia/Shanghai")
    return await build_report(pool, Settings(), period, ReportFilter())


def test_text_width_counts_cjk_double() -> None:
    assert (text_width("ASA"), text_width("平均应答速度"), text_width("队列 support")) == (3, 12, 12)


async def test_report_xlsx_in_chinese_with_typed_durations_and_fitting_widths(
        pool: asyncpg.Pool) -> None:
    wb = load_workbook(io.BytesIO(to_xlsx(await day_report(pool), ZH)))
    assert wb.sheetnames == ["概览", "按日", "按时段", "坐席"]
    summary = {r[0]: r[1] for r in wb["概览"].iter_rows(min_row=2, values_only=True)}
    assert summary["期间"] == "2026-11-02" and summary["筛选"] == "全部通话"
    assert summary["呼出：未接"] == 1                     # outbound c2, not "outbound no_answer"
    agents = wb["坐席"]
    header = [c.value for c in agents[1]]
    assert "通话时长" in header and not any("（秒）" in h for h in header)
    talk = agents.cell(row=2, column=header.index("通话时长") + 1)
    assert talk.number_format == DURATION_FORMAT and isinstance(talk.value, timedelta)
    for i, text in enumerate(header, start=1):
        width = agents.column_dimensions[agents.cell(row=1, column=i).column_letter].width
        assert width >= text_width(text), text


async def test_report_csv_in_chinese_says_the_unit(pool: asyncpg.Pool) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(await day_report(pool), ZH))))
    assert rows[0] == ["# 概览"] and rows[1] == ["指标", "数值"]
    assert "平均应答速度（秒）" in dict(r for r in rows[2:20] if len(r) == 2)


async def test_calls_xlsx_in_chinese_with_typed_waits(pool: asyncpg.Pool) -> None:
    await scenario(pool)
    async with web_client(Settings(), pool, role="supervisor") as client:
        body = await (await client.get(f"/calls/export.xlsx?{DAY}")).read()
    ws = load_workbook(io.BytesIO(body)).active
    header = [c.value for c in ws[1]]
    assert header[1] == "方向" and not any(h.isascii() for h in header)
    wait = header.index(ZH("Wait"))
    rows = list(ws.iter_rows(min_row=2))
    assert {r[1].value for r in rows} <= {"呼入", "呼出"}
    typed = [r[wait] for r in rows if isinstance(r[wait].value, timedelta)]
    assert typed and all(c.number_format == DURATION_FORMAT for c in typed)
    assert "未知" in {r[wait].value for r in rows}       # c2: wait not observed


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_report_and_calls_commands_speak_lang(fresh_dsn: str, pool: asyncpg.Pool,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    await scenario(pool)
    assert await cli("report", "--dsn", fresh_dsn, "--period", "day", "--from", "2026-11-02",
                     "--lang", "zh") == 0
    out = capsys.readouterr().out
    assert out.startswith("# 概览\n指标,数值\n期间,2026-11-02\n") and "呼入数," in out
    out_file = tmp_path / "day.xlsx"
    assert await cli("report", "--dsn", fresh_dsn, "--period", "day", "--from", "2026-11-02",
                     "--out", str(out_file), "--lang", "zh") == 0
    assert capsys.readouterr().out.startswith(f"已写入 {out_file}（xlsx，2026-11-02，呼入 ")
    assert await cli("calls", "--dsn", fresh_dsn, "--lang", "zh") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["开始", "服务器", "通话编号", "方向"]
    assert any("呼出" in line and "未接" in line for line in lines)
    assert any("排队中放弃" in line for line in lines) and "abandoned" not in "".join(lines)
    widths = {text_width(line[:line.index("pbx1")]) for line in lines[1:]}
    assert len(widths) == 1                                  # columns line up
    assert await cli("calls", "--dsn", fresh_dsn, "--lang", "en") == 0
    assert "Abandoned in queue" in capsys.readouterr().out


@pytest.mark.parametrize(("action", "status", "said", "msgid"), [
    ("unpause", "ok", "Interface unpaused successfully",
     "You are no longer paused: calls can reach you."),
    ("join", "ok", "Added interface to queue", "You are now taking calls from queue %(queue)s."),
    ("call", "ok", "Originate successfully queued",
     "Calling: your phone rings first, then the customer."),
    ("join", "failed", "Error: Unable to add interface: Already there", KNOWN["already there"]),
    ("leave", "failed", "Error: Unable to remove interface: Not there", KNOWN["not there"]),
    ("pause", "too_late", "Interface not found", KNOWN["interface not found"]),
    ("join", "failed", "Error: something new", FAILED),
])
def test_asterisk_replies_become_our_sentences(action: str, status: str, said: str,
                                               msgid: str) -> None:
    result = CommandResult(status, said, "a1")  # type: ignore[arg-type]
    assert reply_msgid(action, result) == msgid
    text = reply_text(action, result, ZH, queue="support", reason="午餐")
    assert text and text != msgid and not any(w in text for w in said.split() if len(w) > 3)


@pytest.mark.parametrize(("role", "path", "status", "title"), [
    ("supervisor", "/no/such/page", 404, "页面不存在"),
    ("agent", "/reports", 403, "无权访问此页面"),
    ("supervisor", "/calls/pbx1/nope", 404, "页面不存在"),
    ("supervisor", "/reports/export.csv?period=fortnight", 400, "请求无效"),
    ("qa", "/qa/reviews/2", 500, "系统出错了"),                # a draft whose form is broken
])
async def test_error_pages_in_the_layout_translated_with_a_way_back(
        pool: asyncpg.Pool, role: str, path: str, status: int, title: str) -> None:
    await scenario(pool)
    await pool.execute("UPDATE qa_reviews SET form_definition = '{}'::jsonb WHERE id = 2")
    async with web_client(Settings(), pool, role=role) as client:
        resp = await client.get(path, allow_redirects=False)
        html = await resp.text()
    assert resp.status == status and resp.content_type == "text/html"
    assert f"<h1>{title}</h1>" in html and 'class="topbar"' in html
    assert 'id="error-home" href="/"' in html or '<a href="/" id="error-home">首页</a>' in html
    assert "Traceback" not in html and "Not Found" not in html


async def test_api_errors_stay_json(pool: asyncpg.Pool) -> None:
    async with web_client(Settings(), pool, role="agent") as client:
        resp = await client.get("/api/v1/reports")
        assert resp.status == 403 and (await resp.json()) == {"error": "forbidden"}


async def test_agent_panel_script_gets_the_words_of_states_and_reasons(
        pool: asyncpg.Pool) -> None:
    async with web_client(Settings(), pool, role="agent") as client:
        html = await (await client.get("/agent")).text()
    words = json.loads(unescape(re.search(r"data-words='([^']*)'", html).group(1)))  # type: ignore[union-attr]
    assert words["state"]["paused"] == "示忙" and words["state"]["on_call"] == "通话中"
    assert words["reason"]["ring-no-answer"] == "振铃未接后自动示忙"
    assert words["reason"]["lunch"] == "午餐"
