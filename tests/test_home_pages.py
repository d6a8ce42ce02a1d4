"""Each role's home page shows what that role needs first: the agent their day and queues,
the supervisor today's live figures and three-ring violations (the inspector's work queue:
tests/test_qa_web.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter.calls.model import CallRecord, RingAttempt, Violation
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.testing import web_client

AGENT_PANEL = ("callcenter.agentpanel.web",)
SUPERVISOR = ("callcenter.web.wallboard", "callcenter.console.web")


def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.web.default_language = "en"
    return s


async def a_call_of_today(pool: asyncpg.Pool, *, violation: bool = False) -> datetime:
    """An answered call of agent1001 that ended ten minutes ago (its note is due)."""
    start = datetime.now(UTC) - timedelta(minutes=15)
    ring = RingAttempt("agent1001", "PJSIP/agent1001", start, queue="sales",
                       ended_at=start + timedelta(seconds=20), outcome="answered")
    violations = [Violation("agent1001", "PJSIP/agent1001", "sales", 20.0, 4, 15.0,
                            start + timedelta(seconds=15))] if violation else []
    await CallRepository(pool).upsert_calls([CallRecord(
        "pbx1", "h.1", start, direction="inbound", caller="13800000001", queue="sales",
        agent="agent1001", answered_at=start + timedelta(seconds=20),
        ended_at=start + timedelta(minutes=5), disposition="answered",
        ring_attempts=[ring], violations=violations)])
    await pool.execute(
        "INSERT INTO queue_members (server, queue, interface, agent, in_queue, state, paused,"
        " reason, updated_at) VALUES ('pbx1', 'sales', 'PJSIP/agent1001', 'agent1001', true,"
        " 'available', true, 'Break', now())")
    return start


async def test_agent_home_shows_my_day_the_notes_due_and_my_queues(pool: asyncpg.Pool) -> None:
    await a_call_of_today(pool)
    async with web_client(settings(), pool, role="agent", features=AGENT_PANEL) as agent:
        page = await (await agent.get("/")).text()
        zh = await (await agent.get("/", headers={"Accept-Language": "zh-CN"})).text()
    day = page.split('id="home-day"')[1].split("</section>")[0]
    assert '<strong data-figure="calls">1</strong>' in day
    assert '<strong data-figure="talk">4:40</strong>' in day
    assert 'href="/agent/calls/pbx1/h.1"' in day and "13800000001" in day
    queues = page.split('id="home-queues"')[1].split("</section>")[0]
    assert "sales: paused (Break)" in queues and 'href="/agent"' in queues
    assert "今日概况" in zh and "待填写记录的通话" in zh
    assert "sales: 示忙 (" in zh and "打开坐席面板" in zh


async def test_supervisor_home_shows_live_figures_and_todays_violations(
        pool: asyncpg.Pool) -> None:
    await a_call_of_today(pool, violation=True)
    s = settings()
    async with web_client(s, pool, role="supervisor", features=SUPERVISOR) as boss:
        page = await (await boss.get("/")).text()
        zh = await (await boss.get("/", headers={"Accept-Language": "zh-CN"})).text()
    assert "Live figures need the daemon" in page.split('id="home-live"')[1]
    violations = page.split('id="home-violations"')[1].split("</section>")[0]
    assert "1 today" in violations and "agent1001 1" in violations
    assert 'href="/calls/pbx1/h.1"' in violations and "20.0 s" in violations
    assert "今日三声未接违规" in zh and "今日 1 次" in zh

    live = LiveConsumer.from_settings(s)
    try:
        async with web_client(s, pool, role="supervisor", features=SUPERVISOR,
                              live=live) as boss:
            page = await (await boss.get("/")).text()
    finally:
        await live.close()
    board = page.split('id="home-live"')[1].split("</section>")[0]
    assert '<strong data-figure="offered">' in board and 'href="/wallboard"' in board
    async with web_client(s, pool, role="agent", features=SUPERVISOR) as agent:
        page = await (await agent.get("/")).text()
    assert 'id="home-live"' not in page and 'id="home-violations"' not in page
