"""In a real browser: an agent signs in, joins a queue, gets a screen pop when the simulator
rings them, writes the call notes and finds them in the customer's history."""

from __future__ import annotations

import pytest

from callcenter.sim import AgentScript
from callcenter.web.testing import ensure_user
from tests.support.agent_panel import NEVER, Rig, rig, where
from tests.support.wait import until

__all__ = ["rig"]  # the fixture, shared with the simulator tests

pytestmark = pytest.mark.browser



async def test_agent_joins_gets_a_screen_pop_and_writes_notes(rig: Rig, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    await until(lambda: where(rig, "billing", lambda m: m["in_queue"]))
    await rig.post("/api/agent/presence/leave", {"queue": "billing"})
    await until(lambda: where(rig, "billing", lambda m: not m["in_queue"]))
    name, password = await ensure_user(rig.pool, "agent", "agent1001", "browser-test-pw")
    base = str(rig.client.make_url("/")).rstrip("/")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page(locale="en-US")
            await page.goto(f"{base}/login?next=/agent")
            await page.fill("input[name=username]", name)
            await page.fill("input[name=password]", password)
            await page.press("input[name=password]", "Enter")
            await page.wait_for_url(f"{base}/agent")
            billing = page.locator('#queues tr[data-queue="billing"]')
            await billing.locator("button").click()
            await expect(billing.locator("button")).to_have_text("Log out", timeout=10_000)

            call = await rig.sim.inbound_call("+8613800000009", "803", agents={
                "agent1001": AgentScript(answer_after=3, talk=2),
                "agent1002": NEVER, "agent1003": NEVER})
            pop = page.locator("#screen-pop")
            await expect(pop).to_be_visible(timeout=5_000)
            await expect(pop.locator('[data-field="caller"]')).to_have_text("+8613800000009")
            await expect(pop.locator('[data-field="queue"]')).to_have_text("billing")
            assert await call == "answered"

            await until(lambda: _call_stored(rig, call.linkedid))
            async with page.context.expect_page() as opened:  # a new tab: the panel stays
                await page.click('[data-field="call-link"]')
            notes = await opened.value
            await notes.select_option("select[name=category]", "repair")
            await notes.fill("textarea[name=content]", "router broken, engineer booked")
            await notes.click("form.sheet button[type=submit]")
            await expect(notes.locator(".note-content")).to_have_text(
                "router broken, engineer booked")
            await expect(notes.locator("#note-saved")).to_be_visible()
            await expect(pop).to_be_visible()  # the live panel is still there

            await page.goto(f"{base}/agent/customers/new?number=%2B8613800000009")
            await page.fill("input[name=name]", "Zhao Lei")
            await page.click("form.sheet button[type=submit]")
            await expect(page.locator("h1")).to_have_text("Zhao Lei")
            await expect(page.locator("table")).to_contain_text("router broken, engineer booked")
        finally:
            await browser.close()


async def _call_stored(rig: Rig, linkedid: str) -> bool:
    return bool(await rig.pool.fetchval(
        "SELECT 1 FROM calls WHERE linkedid = $1 AND ended_at IS NOT NULL", linkedid))
