"""The QA scoring page of a monitored call says who monitored it, from when to when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from callcenter.calls.model import CallRecord, MonitoringEnded, MonitoringStarted
from callcenter.qa.sampling import assign_week, sample_week
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.store.monitoring import MonitoringRepository
from callcenter.store.qa import QaRepository
from callcenter.web.testing import web_client

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, week 2026-W48
FORMS = Path(__file__).resolve().parents[1] / "qa" / "forms"


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.qa.random_per_agent_per_week = 5
    s.qa.inspectors = ["test_qa"]
    s.qa.forms_dir = str(FORMS)
    return s


async def monitored_call(pool: asyncpg.Pool) -> None:
    """A recorded call of agent1001, listened to by 'wang' 10:00:30-10:01:10 (Shanghai)."""
    await CallRepository(pool).upsert_calls([CallRecord(
        server="pbx1", linkedid="1.1", started_at=START, agent="1001", queue="support",
        caller="13800000001", disposition="answered", answered_at=START + timedelta(seconds=5),
        ended_at=START + timedelta(seconds=125))])
    await pool.execute("INSERT INTO recordings (server, linkedid, file_name, status, duration_s,"
                       " call_started_at) VALUES ('pbx1', '1.1', '1.1.wav', 'ready', 120, $1)",
                       START)
    repo = MonitoringRepository(pool)
    session = await repo.request(server="pbx1", spy_linkedid="cc-spy-0123456789abcdef",
                                 linkedid="1.1", supervisor="wang", endpoint="supervisor2001",
                                 mode="whisper", at=START + timedelta(seconds=28))
    async with pool.acquire() as conn:
        await repo.apply([
            MonitoringStarted("pbx1", START + timedelta(seconds=30), session.spy_linkedid,
                              "1.1", "PJSIP/supervisor2001-00000001", "PJSIP/agent1001-1",
                              None),
            MonitoringEnded("pbx1", START + timedelta(seconds=70), session.spy_linkedid,
                            "1.1", "ended")], conn)
    # a session whose phone did not answer is not shown
    await repo.request(server="pbx1", spy_linkedid="cc-spy-fedcba9876543210", linkedid="1.1",
                       supervisor="zhao", endpoint="supervisor2002", mode="listen", at=START)


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "monitored by wang from 10:00:30 to 10:01:10 · whisper"),
    ("zh", "由 wang 于 10:00:30 至 10:01:10 监听 · 耳语")])
async def test_qa_page_shows_who_monitored(pool: asyncpg.Pool, settings: Settings,
                                           lang: str, text: str) -> None:
    await monitored_call(pool)
    repo = QaRepository(pool)
    await sample_week(repo, settings, "2026-W48")
    await assign_week(repo, settings, "2026-W48")
    [entry] = await repo.work_queue("test_qa")
    settings.web.default_language = lang
    async with web_client(settings, pool, role="qa", features=("callcenter.qa.web",)) as qa:
        resp = await qa.get(f"/qa/assignments/{entry.assignment_id}",
                            headers={"Accept-Language": lang})
        page = await resp.text()
    assert resp.status == 200 and text in page
    assert page.count("<li>") and "zhao" not in page.split('class="monitoring-sessions"')[1].split("</ul>")[0]
