"""In a real browser at 1920x1080: the wallboard's large-screen mode fits one screen with no
scrolling, in English and in Chinese, on a busy board (four queues, fourteen agents, a
day of alerts); every agent row is not red; the legend says what the colours mean.

Screenshots go to ``test-artifacts/`` (or ``$CALLCENTER_ARTIFACTS``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    ServiceAlert,
)
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.web.testing import ensure_user
from tests.support.web_board import serve, sign_in

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("CALLCENTER_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / "test-artifacts")
QUEUES = ("support", "sales", "billing", "vip")
STATES = ("available", "on_call", "paused", "wrap_up", "unavailable", "available", "on_call")


def busy_board(now: datetime) -> list[Any]:
    """Facts of a busy morning: members in every state, callers waiting, calls on."""
    facts: list[Any] = []
    for i in range(14):
        agent = f"agent{1001 + i}"
        state = STATES[i % len(STATES)]
        for queue in QUEUES[: 1 + i % 3]:
            facts.append(AgentStateChanged(
                "pbx1", now - timedelta(minutes=i), f"PJSIP/{agent}", agent, f"坐席 {i}",
                queue, state, state == "paused", "after-call work" if state == "paused"
                else None, True))  # type: ignore[arg-type]
        if state == "on_call":
            lid = f"c{i}"
            call = CallRecord("pbx1", lid, now, caller="13812345678", queue="support",
                              queue_joined_at=now, answered_at=now, agent=agent)
            ring = RingAttempt(agent, f"PJSIP/{agent}", now, queue="support", ended_at=now,
                               outcome="answered")
            facts += [CallStarted("pbx1", now, call), CallAnswered("pbx1", now, call, ring)]
    for i, queue in enumerate(QUEUES * 2):
        lid = f"w{i}"
        call = CallRecord("pbx1", lid, now, caller="13912345678", queue=queue,
                          queue_joined_at=now - timedelta(seconds=30 * i))
        facts += [CallStarted("pbx1", now, call),
                  QueueCallerJoined("pbx1", now - timedelta(seconds=30 * i), lid, queue, i)]
    for i in range(20):
        facts.append(SupervisorAlert(
            "pbx1", now - timedelta(minutes=3 * i), kind="agent_paused",
            interface=f"PJSIP/agent{1001 + i % 14}", agent=f"agent{1001 + i % 14}", misses=2,
            linkedid=f"a{i}", queue="support", action="pause", result="ok"))
    facts += [RecordingAlert("pbx1", now, linkedid=f"r{i}", file_name=f"r{i}.wav",
                             status="missing", attempts=4, detail="") for i in range(4)]
    facts.append(ServiceAlert("pbx1", now, "database_unreachable", True, "connection refused"))
    return facts


def inside(box: dict[str, float] | None, width: int = 1920, height: int = 1080) -> bool:
    return box is not None and box["x"] >= 0 and box["y"] >= 0 \
        and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
async def test_tv_mode_fits_1920_by_1080_without_scrolling(pool: asyncpg.Pool, chromium: str,
                                                            locale: str) -> None:
    from playwright.async_api import async_playwright

    settings = Settings()
    live = LiveConsumer.from_settings(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    for fact in busy_board(now):
        if isinstance(fact, SupervisorAlert | RecordingAlert):
            live.on_alert(fact)
        else:
            await live.on_facts([fact])
    name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with serve(settings, pool, live=live) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page(locale=locale,
                                          viewport={"width": 1920, "height": 1080})
            await sign_in(page, base, "/wallboard?tv=1", name, password)
            await page.wait_for_selector('#board tr[data-agent="agent1014"]')
            await page.screenshot(path=str(ARTIFACTS / f"wallboard-tv-{locale}.png"))
            size = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
                " document.body.scrollWidth, document.body.scrollHeight]")
            assert size[0] <= 1920 and size[2] <= 1920, size
            assert size[1] <= 1080 and size[3] <= 1080, size
            for selector in (".queues thead th:last-child",         # AHT
                             '.queues tr[data-row="total"]', ".agents h2",
                             '.agents tr[data-agent="agent1001"]',
                             '.agents tr[data-agent="agent1014"]', "section.alerts h2",
                             "section.alerts li:first-child", ".legend"):
                box = await page.locator(selector).first.bounding_box()
                assert inside(box), (selector, box)
            section = await page.locator("section.agents").bounding_box()
            rate = await page.locator(".agents thead th:nth-last-child(2)").bounding_box()
            assert section and rate and rate["x"] + rate["width"] <= section["x"] + section[
                "width"], "the agents' last column is cut off"
            assert await page.locator(".board .actions button").first.is_hidden()
            rows = page.locator("#board tr[data-agent]")
            red = page.locator("#board tr[data-agent].alarm")
            assert await red.count() < await rows.count() == 14  # only unreachable ones
            assert await page.locator(".legend li").count() >= 6
        finally:
            await browser.close()
    await live.close()
