"""In a real browser: a supervisor signs in, watches the wallboard change when the simulator
puts a caller in a queue, and the board's figures agree with the database.

Screenshots go to ``test-artifacts/`` (or ``$CALLCENTER_ARTIFACTS``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.sim import AgentScript
from callcenter.web.testing import ensure_user
from tests.support.wait import until
from tests.support.web_board import serve, sim_board

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("CALLCENTER_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / "test-artifacts")
SPEED = 10.0



@pytest.fixture
async def served(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[str, Any, Any]]:
    """(base URL, simulator, live consumer): the simulator, the daemon and the web app."""
    async with sim_board(pool, tmp_path, SPEED) as rig, \
            serve(rig.settings, pool, live=rig.live) as base:
        yield base, rig.sim, rig.live


async def test_supervisor_sees_a_caller_arrive_and_figures_match_the_database(
        served: tuple[str, Any, Any], pool: asyncpg.Pool, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    base, sim, live = served
    name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
    await until(lambda: "support" in live.state.queue_names())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page(locale="zh-CN", viewport={"width": 1600, "height": 900})
            await page.goto(f"{base}/wallboard")
            await page.fill("input[name=username]", name)
            await page.fill("input[name=password]", password)
            await page.press("input[name=password]", "Enter")
            await page.wait_for_url(f"{base}/wallboard")
            support = page.locator('#board tr[data-queue="support"]')
            await expect(support.locator("td.waiting")).to_have_text("0")
            await expect(page.locator("h1")).to_have_text("实时监控看板")

            scripts = {f"agent100{i}": AgentScript(answer_after=None) for i in (1, 2, 3)}
            scripts["agent1002"] = AgentScript(answer_after=12, talk=5)
            call = await sim.inbound_call("+8613800000001", "800", agents=scripts)
            await expect(support.locator("td.waiting")).to_have_text("1", timeout=10_000)
            await page.screenshot(path=str(ARTIFACTS / "wallboard-caller-waiting.png"),
                                  full_page=True)
            assert await call == "answered"
            await expect(support.locator("td.waiting")).to_have_text("0", timeout=10_000)
            stored = await until(lambda: pool.fetchrow(
                "SELECT count(*) AS offered, count(answered_at) AS answered FROM calls"
                " WHERE queue = 'support' AND direction = 'inbound' AND ended_at IS NOT NULL"
                " HAVING count(*) > 0"))
            await expect(support.locator("td.offered")).to_have_text(str(stored["offered"]),
                                                                     timeout=10_000)
            await expect(support.locator("td.answered")).to_have_text(str(stored["answered"]))
            row = page.locator('#board tr[data-agent="agent1002"]')
            await expect(row.locator("td.num").nth(1)).to_have_text("1")
            await page.screenshot(path=str(ARTIFACTS / "wallboard-after-call.png"),
                                  full_page=True)
            await page.goto(f"{base}/wallboard?tv=1")
            await expect(page.locator(".topbar")).to_be_hidden()
            await page.screenshot(path=str(ARTIFACTS / "wallboard-tv.png"), full_page=True)
        finally:
            await browser.close()
