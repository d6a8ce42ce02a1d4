"""QA pages over HTTP: work queue, scoring page, submit, agent's answer, resolution."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import asyncpg
from openpyxl import load_workbook

from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.qa import QaRepository
from callcenter.web.i18n import Catalogues
from callcenter.web.testing import ensure_user, web_client
from tests.support.qa import (
    FEATURES,
    FULL,
    WEEK,
    add_call,
    fields,
    queued,
    scored,
    settings,
)

__all__ = ["settings"]  # the fixture, shared with the browser tests

AGENT = "agent1001"


async def test_score_a_call_from_the_queue(pool: asyncpg.Pool, settings: Settings) -> None:
    aid = await queued(pool, settings)
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        page = await (await qa.get("/qa")).text()
        assert f'href="/qa/assignments/{aid}"' in page and AGENT in page
        assert "random" in page  # why the call was sampled
        zh = await (await qa.get("/qa", headers={"Accept-Language": "zh-CN"})).text()
        assert "质检任务" in zh and "随机" in zh
        resp = await qa.get(f"/qa/assignments/{aid}", allow_redirects=False)
        assert resp.status == 302
        url = resp.headers["Location"]
        page = await (await qa.get(url)).text()
        assert 'src="/recordings/pbx1/1.1/1.1.wav"' in page and "/static/qa.js" in page
        assert "hold 10 s (limit 60 s)" in page  # the auto item's evidence
        assert "138****0001" in page  # the caller's number masked for QA
        assert 'name="score.polite_close"' in page and "8 items not scored yet" in page

        resp = await qa.post(url, data=fields("", FULL, action="submit"))
        assert resp.status == 403  # no CSRF token
        resp = await qa.post(url, data=fields(qa.csrf, {"polite_close": 1}, action="submit"))
        assert resp.status == 400 and "not scored yet" in await resp.text()
        for bad in ("x", "²", "9" * 5000, "-1"):
            resp = await qa.post(url, data=fields(qa.csrf, {"polite_close": bad}, action="save"))
            assert resp.status == 400 and "whole number" in await resp.text()
        resp = await qa.post(url, data=fields(qa.csrf, {"hold_time": 0}, action="save"))
        assert resp.status == 400 and "needs a reason" in await resp.text()

        resp = await qa.post(url, allow_redirects=False,
                             data=fields(qa.csrf, FULL, action="submit", comment="fine"))
        assert resp.status == 302
        page = await (await qa.get(url)).text()
        assert re.search(r'id="total">89\.1<', page) and 'id="grade"' in page
        assert 'name="score.polite_close"' not in page  # read-only now
        resp = await qa.post(url, data=fields(qa.csrf, {"polite_close": 1}, action="save"))
        assert resp.status == 409
        assert "89.1" in await (await qa.get("/qa?done=1")).text()
    actions = [e.action for e in await AuditRepository(pool).entries(actor="test_qa")]
    assert actions == ["qa_review_submitted", "qa_review_started"]  # refused saves change nothing


async def test_agent_answers_and_supervisor_resolves(pool: asyncpg.Pool,
                                                     settings: Settings) -> None:
    review_id = await scored(pool, settings)
    async with web_client(settings, pool, role="agent", agent="agent1002", features=FEATURES) as other:
        assert (await other.get(f"/qa/reviews/{review_id}")).status == 404
        assert "No review of your calls yet" in await (await other.get("/qa/mine")).text()
    async with web_client(settings, pool, role="agent", features=FEATURES) as agent:
        assert (await agent.get("/qa")).status == 403
        mine = await (await agent.get("/qa/mine")).text()
        assert f'href="/qa/reviews/{review_id}"' in mine and "89.1" in mine
        page = await (await agent.get(f"/qa/reviews/{review_id}")).text()
        assert 'id="respond"' in page and "13800000001" in page  # agents see the number
        url = f"/qa/reviews/{review_id}/respond"
        resp = await agent.post(url, data={"csrf_token": agent.csrf, "response": "disputed"})
        assert resp.status == 400
        resp = await agent.post(url, allow_redirects=False, data={
            "csrf_token": agent.csrf, "response": "disputed",
            "response_comment": "I closed politely"})
        assert resp.status == 302
        resp = await agent.post(url, data={"csrf_token": agent.csrf, "response": "acknowledged"})
        assert resp.status == 409
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        resp = await qa.post(f"/qa/reviews/{review_id}/resolve",
                             data={"csrf_token": qa.csrf, "decision": "upheld",
                                   "resolution_comment": "x"})
        assert resp.status == 403
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as boss:
        queue = await (await boss.get("/qa")).text()
        assert "I closed politely" in queue
        page = await (await boss.get(f"/qa/reviews/{review_id}")).text()
        assert f'action="/qa/reviews/{review_id}/resolve"' in page
        data = fields(boss.csrf, {**FULL, "polite_close": 1}, decision="changed",
                      resolution_comment="heard it at 03:10")
        resp = await boss.post(f"/qa/reviews/{review_id}/resolve", allow_redirects=False,
                               data=data)
        assert resp.status == 302
        page = await (await boss.get(f"/qa/reviews/{review_id}")).text()
        assert re.search(r'id="total">95\.3<', page) and "heard it at 03:10" in page
    entries = await AuditRepository(pool).entries(object=f"qa_review:{review_id}")
    assert entries[0].action == "qa_dispute_resolved" and entries[0].details["items"] == [
        "polite_close"]


async def test_unknown_ids_and_signed_out(pool: asyncpg.Pool, settings: Settings) -> None:
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        assert (await qa.get("/qa/reviews/999")).status == 404
        assert (await qa.get("/qa/reviews/abc")).status == 404
        assert (await qa.get("/qa/assignments/999")).status == 404
    async with web_client(settings, pool, role=None, features=FEATURES) as anon:
        resp = await anon.get("/qa", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")


async def test_report_page_and_export(pool: asyncpg.Pool, settings: Settings) -> None:
    review_id = await scored(pool, settings)
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as boss:
        page = await (await boss.get("/qa/report")).text()  # this week: the review just made
        assert f'href="/qa/reviews/{review_id}"' in page and "89.1" in page
        resp = await boss.get("/qa/report.xlsx")
        assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
        ws = load_workbook(io.BytesIO(await resp.read()))["Reviews"]
        assert ws["D2"].value == AGENT and ws["E2"].value == "test_qa" and ws["G2"].value == 89.06
        resp = await boss.get("/qa/report.csv?period=2020-01")
        assert (await resp.read()).decode("utf-8-sig").count("\n") == 1  # header only
        resp = await boss.get("/qa/report?period=someday")
        assert resp.status == 400 and "bad period" in await resp.text()
    async with web_client(settings, pool, role="agent", features=FEATURES) as agent:
        assert (await agent.get("/qa/report")).status == 403
        assert (await agent.get("/qa/report.xlsx")).status == 403
    exports = await AuditRepository(pool).entries(action="qa_report_exported")
    assert [e.details["format"] for e in exports] == ["csv", "xlsx"]


def test_every_qa_string_has_a_chinese_translation() -> None:
    root = Path(__file__).resolve().parents[1] / "callcenter" / "web"
    msgids = {m.group(1) or m.group(2) for f in (root / "templates" / "qa").glob("*.html")
              for m in re.finditer(r"""_\(\s*(?:"([^"]+)"|'([^']+)')""", f.read_text())}
    zh = Catalogues().translations("zh")
    missing = sorted(m for m in msgids if zh.gettext(m) == m)
    assert len(msgids) > 80 and missing == []


async def test_supervisor_samples_and_assigns_to_qa_users(pool: asyncpg.Pool,
                                                           settings: Settings) -> None:
    settings.qa.inspectors = []  # → every enabled web user of role qa
    await ensure_user(pool, "qa")
    for n in range(3):
        await add_call(pool, n, AGENT)
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as boss:
        assert 'id="sample"' in await (await boss.get("/qa")).text()
        resp = await boss.post("/qa/sample", allow_redirects=False,
                               data={"csrf_token": boss.csrf, "week": WEEK})
        assert resp.status == 302 and resp.headers["Location"] == "/qa?sampled=3&assigned=3&week=2026-W48"
        resp = await boss.post("/qa/sample", data={"csrf_token": boss.csrf, "week": "W48"})
        assert resp.status == 400 and "bad week" in await resp.text()
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        assert 'id="sample"' not in await (await qa.get("/qa")).text()
        assert (await qa.post("/qa/sample", data={"csrf_token": qa.csrf, "week": WEEK})
                ).status == 403
    assert len(await QaRepository(pool).work_queue("test_qa")) == 3


async def _open_review(qa: Any, assignment_id: int) -> str:
    resp = await qa.get(f"/qa/assignments/{assignment_id}", allow_redirects=False)
    return str(resp.headers["Location"])


async def test_draft_total_reads_incomplete_and_submit_says_submitted(
        pool: asyncpg.Pool, settings: Settings) -> None:
    aid = await queued(pool, settings)
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        url = await _open_review(qa, aid)
        page = await (await qa.get(url)).text()
        assert re.search(r'id="total">incomplete<', page) and 'id="grade"' not in page
        assert "Closed politely" in page.split('id="unscored"')[1].split("</span>")[0]
        assert 'id="confirm-submit"' in page and "/static/qa_sheet.js" in page
        zh = await (await qa.get(url, headers={"Accept-Language": "zh-CN"})).text()
        assert re.search(r'id="total">未完成<', zh) and "礼貌结束" in zh
        assert "提交后评分不能再修改" in zh

        resp = await qa.post(url, allow_redirects=False,
                             data=fields(qa.csrf, {"polite_close": 1}, action="save"))
        assert resp.headers["Location"].endswith("?saved=1")
        page = await (await qa.get(resp.headers["Location"])).text()
        assert "Draft saved." in page and "Submitted" not in page
        resp = await qa.post(url, allow_redirects=False,
                             data=fields(qa.csrf, FULL, action="submit"))
        assert resp.headers["Location"].endswith("?submitted=1")
        page = await (await qa.get(resp.headers["Location"])).text()
        assert "Submitted: the agent can now read this review." in page
        assert re.search(r'id="total">89\.1<', page) and 'id="grade"' in page


async def _disputed(pool: asyncpg.Pool, settings: Settings) -> int:
    review_id = await scored(pool, settings)
    async with web_client(settings, pool, role="agent", features=FEATURES) as agent:
        resp = await agent.post(f"/qa/reviews/{review_id}/respond", allow_redirects=False,
                                data={"csrf_token": agent.csrf, "response": "disputed",
                                      "response_comment": "I closed politely"})
        assert resp.status == 302
    return review_id


async def test_upholding_with_edited_items_is_refused_and_keeps_the_edits(
        pool: asyncpg.Pool, settings: Settings) -> None:
    review_id = await _disputed(pool, settings)
    url = f"/qa/reviews/{review_id}/resolve"
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as boss:
        page = await (await boss.get(f"/qa/reviews/{review_id}")).text()
        assert 'id="decision-note"' in page
        edited = fields(boss.csrf, {**FULL, "polite_close": 1}, decision="upheld",
                        resolution_comment="heard it")
        resp = await boss.post(url, data=edited)
        text = await resp.text()
        assert resp.status == 400 and "chose to uphold the score" in text
        assert re.search(r'<option value="1" selected>', text.split('score.polite_close')[1])
        assert "heard it" in text  # the comment is kept too
        zh = await boss.post(url, data=edited, headers={"Accept-Language": "zh-CN"})
        assert "却选择了维持原评分" in await zh.text()
        row = await pool.fetchrow("SELECT total, resolution FROM qa_reviews WHERE id = $1",
                                  review_id)
        assert row["resolution"] is None and round(row["total"], 1) == 89.1

        resp = await boss.post(url, allow_redirects=False, data=fields(
            boss.csrf, FULL, decision="upheld", resolution_comment="the score stands"))
        assert resp.status == 302
    assert await pool.fetchval("SELECT resolution FROM qa_reviews WHERE id = $1",
                               review_id) == "upheld"


async def test_sampling_no_call_says_why(pool: asyncpg.Pool, settings: Settings) -> None:
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as boss:
        resp = await boss.post("/qa/sample", data={"csrf_token": boss.csrf, "week": WEEK})
        page = await resp.text()
        assert "Sampled 0 new calls" in page
        assert f"No new call of {WEEK} could be sampled" in page and "this week (" in page


async def test_inspector_home_shows_the_work_queue(pool: asyncpg.Pool,
                                                   settings: Settings) -> None:
    aid = await queued(pool, settings)
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        page = await (await qa.get("/")).text()
        home = page.split('id="home-qa"')[1]
        assert "1 calls to score" in home and f'href="/qa/assignments/{aid}"' in home
        zh = await (await qa.get("/", headers={"Accept-Language": "zh-CN"})).text()
        assert "我的质检任务" in zh and "待评分通话 1 通" in zh
    async with web_client(settings, pool, role="agent", features=FEATURES) as agent:
        assert 'id="home-qa"' not in await (await agent.get("/")).text()
