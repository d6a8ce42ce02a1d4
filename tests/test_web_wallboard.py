"""The wallboard over HTTP and SSE, against a real database and a live consumer fed facts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from callcenter.calls.alerts import RecordingAlert, SupervisorAlert
from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallRecord,
    CallStarted,
    QueueCallerJoined,
    RingAttempt,
)
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client

CALLER = "13812345678"


@pytest.fixture
def settings() -> Settings:
    return Settings()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def waiting_caller(lid: str, t: datetime, queue: str = "support") -> list[Any]:
    call = CallRecord("pbx1", lid, t, direction="inbound", caller=CALLER, queue=queue,
                      queue_joined_at=t)
    return [CallStarted("pbx1", t, call), QueueCallerJoined("pbx1", t, lid, queue, 1)]


def on_call(agent: str, lid: str, t: datetime) -> list[Any]:
    call = CallRecord("pbx1", lid, t, direction="inbound", caller=CALLER, queue="support",
                      queue_joined_at=t, answered_at=t, agent=agent)
    attempt = RingAttempt(agent, f"PJSIP/{agent}", t, queue="support", ended_at=t,
                          outcome="answered")
    return [CallStarted("pbx1", t, call), CallAnswered("pbx1", t, call, attempt),
            AgentStateChanged("pbx1", t, f"PJSIP/{agent}", agent, None, "support", "on_call",
                              False, None, True)]


async def test_wallboard_roles(settings: Settings, pool: asyncpg.Pool) -> None:
    live = LiveConsumer.from_settings(settings)
    for role, page, api in [("supervisor", 200, 200), ("admin", 200, 200), ("qa", 403, 403),
                            ("agent", 403, 403), (None, 302, 401)]:
        async with web_client(settings, pool, role=role, live=live,
                              features=CORE_FEATURES) as client:
            assert (await client.get("/wallboard", allow_redirects=False)).status == page
            assert (await client.get("/api/v1/live", allow_redirects=False)).status == api
            events = await client.get("/wallboard/events", allow_redirects=False)
            assert events.status == page, role
            events.close()
    await live.close()


async def test_board_masks_numbers_and_shows_local_times(settings: Settings,
                                                         pool: asyncpg.Pool) -> None:
    live = LiveConsumer.from_settings(settings)
    t = now()
    alert_at = (t - timedelta(days=1)).replace(hour=2, minute=0, second=5)  # 10:00:05 Shanghai
    await live.on_facts([*waiting_caller("1.1", t), *on_call("agent1001", "1.2", t)])
    live.on_alert(SupervisorAlert("pbx1", alert_at, kind="agent_paused",
                                  interface="PJSIP/agent1002", agent="agent1002", misses=2,
                                  linkedid="1.3", queue="support", action="pause",
                                  result="ok"))
    live.on_alert(RecordingAlert("pbx1", t, linkedid="1.2", file_name="1.2.wav",
                                 status="missing", attempts=4, detail=""))
    async with web_client(settings, pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        html = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
        assert "1.2.wav: recording missing (4 checks)" in html
        assert "138****5678" in html and CALLER not in html
        assert "10:00:05" in html and "02:00:05" not in html
        assert "within 20 s, of offered minus short abandons" in html
        data = await (await client.get("/api/v1/live")).json()
        (queue,) = data["queues"]
        assert (queue["name"], queue["waiting"], queue["agents"]["on_call"]) == ("support", 1, 1)
        assert data["agents"][0]["call"]["number"] == "138****5678"
    await live.close()


async def test_board_speaks_the_users_language(settings: Settings, pool: asyncpg.Pool) -> None:
    live = LiveConsumer.from_settings(settings)
    await live.on_facts(waiting_caller("1.1", now()))
    async with web_client(settings, pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        zh = await (await client.get("/wallboard", headers={"Accept-Language": "zh-CN"})).text()
        assert "等待" in zh and "服务水平" in zh
        en = await (await client.get("/wallboard", headers={
            "Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})).text()
        assert "Service level" in en and "服务水平" not in en
        # an explicit choice beats the browser's
        await client.post("/language", data={"language": "zh", "csrf_token": client.csrf})
        chosen = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
        assert "服务水平" in chosen
    await live.close()


async def read_event(resp: Any) -> tuple[str, str]:
    """The next SSE event (name, data) of ``resp``."""
    name, data = "", []
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode().rstrip("\n")
        if not line:
            if name or data:
                return name, "\n".join(data)
            continue
        field, _, value = line.partition(": ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


async def test_sse_pushes_an_update_after_facts(settings: Settings, pool: asyncpg.Pool) -> None:
    live = LiveConsumer.from_settings(settings)
    async with web_client(settings, pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        resp = await client.get("/wallboard/events")
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        name, first = await read_event(resp)
        assert name == "board" and 'data-queue="support"' not in first
        await live.on_facts(waiting_caller("7.1", now()))
        name, update = await read_event(resp)
        assert name == "board" and 'data-queue="support"' in update
        assert '<td class="num waiting">1</td>' in update
        resp.close()
        # the server notices the browser left at its next write and drops the subscriber
        for i in range(100):
            if not live.subscribers:
                break
            await live.on_facts(waiting_caller(f"7.{i + 2}", now()))
            await asyncio.sleep(0.05)
        assert not live.subscribers
    await live.close()


async def test_live_state_is_seeded_from_todays_stored_calls(settings: Settings,
                                                             pool: asyncpg.Pool) -> None:
    t = now() - timedelta(minutes=1)
    if t.astimezone(live_zone(settings)).date() != now().astimezone(live_zone(settings)).date():
        t = now()
    done = CallRecord("pbx1", "5.1", t, direction="inbound", caller=CALLER, queue="sales",
                      queue_joined_at=t, answered_at=t + timedelta(seconds=4),
                      ended_at=t + timedelta(seconds=30), agent="agent1001",
                      disposition="answered")
    await CallRepository(pool).upsert_calls([done])
    live = LiveConsumer.from_settings(settings)
    async with web_client(settings, pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        data = await (await client.get("/api/v1/live")).json()
    (queue,) = data["queues"]
    assert (queue["name"], queue["offered"], queue["answered"], queue["asa_s"]) == (
        "sales", 1, 1, 4)
    await live.close()


def live_zone(settings: Settings) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.web.timezone)


async def test_without_a_daemon_the_page_says_so(settings: Settings, pool: asyncpg.Pool) -> None:
    async with web_client(settings, pool, role="supervisor",
                          features=CORE_FEATURES) as client:
        page = await client.get("/wallboard", headers={"Accept-Language": "en"})
        assert page.status == 200 and "not available" in await page.text()
        assert (await client.get("/wallboard/events")).status == 503
        assert (await client.get("/api/v1/live")).status == 503
