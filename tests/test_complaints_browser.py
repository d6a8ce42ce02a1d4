"""In a real browser: a complaint from registration through a reopened escalation to its
closure, in Chinese and in English; an overdue complaint raises the wallboard's alert
without a reload, and answering it clears the alert."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from callcenter.complaints.overdue import OverdueWatch
from callcenter.complaints.service import ComplaintDesk
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.users import UserRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import ensure_user
from tests.support.web_board import serve, sign_in

pytestmark = pytest.mark.browser
FEATURES = (*CORE_FEATURES, "callcenter.complaints.web")
WORDS = {  # what the pages say, per language
    "zh": {"registered": "已登记", "escalated": "已重开并升级", "closed": "已关闭"},
    "en": {"registered": "Registered", "escalated": "Reopened, escalated",
           "closed": "Closed complaint"},
}


async def supervisor(pool: asyncpg.Pool, lang: str) -> tuple[str, str]:
    name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
    await UserRepository(pool).set_language(name, lang)
    return name, password


async def take(page: Any, step: str, **fields: str) -> None:
    """Fill the step's form (inputs, textareas and selects by name) and submit it."""
    form = page.locator(f'form[data-step="{step}"]')
    for name, value in fields.items():
        field = form.locator(f'[name="{name}"]')
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_complaint_from_registration_through_escalation_to_closure(
        pool: asyncpg.Pool, chromium: str, lang: str) -> None:
    from playwright.async_api import async_playwright, expect

    words = WORDS[lang]
    name, password = await supervisor(pool, lang)
    async with serve(Settings(), pool, features=FEATURES) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page()
            await sign_in(page, base, "/complaints", name, password)
            await expect(page.locator("#no-complaints")).to_be_visible()
            form = page.locator("#register-complaint")
            await form.locator("select[name=reason]").select_option("wait_time")
            await form.locator("input[name=number]").fill("138 0013 8000")
            await form.locator("textarea[name=text]").fill("waited 20 minutes, nobody answered")
            await form.locator("button[type=submit]").click()
            status = page.locator("#complaint-facts .status")
            await expect(status).to_have_text(words["registered"])

            await take(page, "investigate")
            await take(page, "record", investigation="queue was understaffed",
                       responsible_agent="agent1001")
            await expect(page.locator("#complaint-facts .responsible")).to_have_text("agent1001")
            await take(page, "answer", response="apologised, priority callback arranged")
            await take(page, "not_satisfied", verdict_source="follow_up_call",
                       escalated_to=name, text="still unhappy")
            await expect(status).to_have_text(words["escalated"])
            await expect(page.locator("#complaint-facts .round")).to_have_text("2")
            await expect(page.locator("#complaint-facts .escalated-to")).to_have_text(name)

            await take(page, "investigate")
            await take(page, "answer", response="refund of the call charges")
            await take(page, "satisfied", verdict_source="survey")
            await expect(status).to_have_text(words["closed"])
            await expect(page.locator("#timeline li")).to_have_count(8)
            await expect(page.locator("form.step")).to_have_count(0)

            await page.goto(f"{base}/complaints?status=closed")
            await expect(page.locator("#complaints tbody tr")).to_have_count(1)
            await expect(page.locator("#complaints .summary")).to_have_text(
                "waited 20 minutes, nobody answered")
        finally:
            await browser.close()


async def test_an_overdue_complaint_raises_the_wallboard_alert_until_answered(
        pool: asyncpg.Pool, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    settings = Settings()
    settings.web.default_language = "en"
    settings.complaints.overdue_refresh_s = 0.5
    settings.agent_panel.complaint_response_hours = 4 / 3600  # due 4 s after registration
    name, password = await supervisor(pool, "en")
    live = LiveConsumer.from_settings(settings)
    async with serve(settings, pool, live=live, features=FEATURES) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            context = await browser.new_context()
            board = await context.new_page()
            await sign_in(board, base, "/wallboard", name, password)
            alerts = board.locator("#overdue-complaints")
            await expect(alerts).to_contain_text("No overdue complaints.")
            await board.evaluate("window.__not_reloaded = true")
            # registered elsewhere (another process): the board learns it from the database
            who = await UserRepository(pool).require(name)
            k = await ComplaintDesk(settings, pool, OverdueWatch()).register(
                who, {"reason": "billing", "text": "charged twice", "number": "13800138001"})
            alert = alerts.locator(f'li[data-complaint="{k.id}"]')
            await expect(alert).to_be_visible(timeout=30_000)
            await expect(alert).to_contain_text(f"Complaint {k.id}")

            detail = await context.new_page()
            await detail.goto(f"{base}/complaints/{k.id}")
            await expect(detail.locator(".flag")).to_be_visible()  # overdue there too
            await take(detail, "investigate")
            await take(detail, "answer", response="refunded")
            await expect(alert).to_have_count(0, timeout=30_000)
            await expect(alerts).to_contain_text("No overdue complaints.")
            assert await board.evaluate("window.__not_reloaded === true")
        finally:
            await browser.close()
            await live.close()
