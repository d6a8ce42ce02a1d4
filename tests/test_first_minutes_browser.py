"""In a real browser, in Chinese and in English: a supervisor signs in to the home page
made for the role (today's live figures and three-ring violations), opens a violation's
call, meets an error page that sits in the layout in the user's language, and finds the
way back home from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.calls.model import CallRecord, RingAttempt, Violation
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.testing import ensure_user, web_client
from tests.support.web_board import sign_in

pytestmark = pytest.mark.browser
FEATURES = ("callcenter.wallboard.web", "callcenter.console.web")
WORDS = {
    "zh-CN": ("今日三声未接违规", "页面不存在", "错误代码 404", "没有这通电话", "首页"),
    "en-US": ("Today's three-ring violations", "Page not found", "Error 404", "no such call",
              "Home page"),
}


async def a_violation_of_today(pool: asyncpg.Pool) -> None:
    """An answered call of agent1001, ten minutes ago, whose first ring broke the rule."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    ring = RingAttempt("agent1001", "PJSIP/agent1001", start, queue="sales",
                       ended_at=start + timedelta(seconds=20), outcome="answered")
    await CallRepository(pool).upsert_calls([CallRecord(
        "pbx1", "v.1", start, direction="inbound", caller="13800000001", queue="sales",
        agent="agent1001", answered_at=start + timedelta(seconds=20),
        ended_at=start + timedelta(minutes=3), disposition="answered", ring_attempts=[ring],
        violations=[Violation("agent1001", "PJSIP/agent1001", "sales", 20.0, 4, 15.0,
                              start + timedelta(seconds=15))])])


async def test_home_page_violation_and_error_page_in_both_languages(
        pool: asyncpg.Pool, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    await a_violation_of_today(pool)
    settings = Settings()
    settings.web.secure_cookies = False
    name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
    async with web_client(settings, pool, role=None, features=FEATURES) as client:
        base = str(client.make_url("/")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium)
            try:
                for locale, (violations, not_found, code, detail, home) in WORDS.items():
                    context = await browser.new_context(locale=locale)
                    page = await context.new_page()
                    await sign_in(page, base, "/", name, password)

                    section = page.locator("#home-violations")
                    await expect(section.locator("h2")).to_have_text(violations)
                    await expect(section).to_contain_text("agent1001")
                    await section.locator("a[href='/calls/pbx1/v.1']").click()
                    await page.wait_for_url(f"{base}/calls/pbx1/v.1")
                    await expect(page.locator("#timeline li.event-violation")).to_have_count(1)

                    answer = await page.goto(f"{base}/calls/pbx1/no-such-call")
                    assert answer is not None and answer.status == 404
                    error = page.locator("#error-page")
                    await expect(error.locator("h1")).to_have_text(not_found)
                    await expect(error).to_contain_text(code)
                    await expect(page.locator("#error-detail")).to_have_text(detail)
                    await expect(page.locator("nav")).to_be_visible()  # inside the layout
                    await expect(page.locator("#error-home")).to_have_text(home)
                    await page.click("#error-home")
                    await page.wait_for_url(f"{base}/")
                    await expect(page.locator("#home-violations")).to_be_visible()
                    await context.close()
            finally:
                await browser.close()
