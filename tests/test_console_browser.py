"""In a real browser, in Chinese and in English: a supervisor finds a call by a partial
number and a time range, opens it, sees its three-ring violation and plays its recording."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from callcenter.settings import Settings
from callcenter.sim.wav import write_wav
from callcenter.web.testing import ensure_user, web_client
from tests.support.console_seed import FEATURES, scenario, settings

__all__ = ["settings"]  # the fixture, shared with the web tests

pytestmark = pytest.mark.browser
MOVED = re.compile(r"^(?!0\.00$)\d+\.\d\d$")
WORDS = {"en-US": ("Three-ring violation", "Ringing stopped (hang-up)", "Done", "Search"),
         "zh-CN": ("三声未接违规", "已停止振铃（挂断）", "完成", "搜索")}


async def test_find_open_and_play_a_call(pool: asyncpg.Pool, settings: Settings,
                                         tmp_path: Path, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    settings.recordings.store_dir = str(tmp_path)
    await scenario(pool)
    write_wav(tmp_path / "c1.wav", 6.0)
    name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
    async with web_client(settings, pool, role=None, features=FEATURES) as client:
        base = str(client.make_url("/")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=chromium, args=["--autoplay-policy=no-user-gesture-required"])
            try:
                for locale, (violation, action, result, search) in WORDS.items():
                    context = await browser.new_context(locale=locale)
                    page = await context.new_page()
                    await page.goto(f"{base}/login?next=/calls")
                    await page.fill("input[name=username]", name)
                    await page.fill("input[name=password]", password)
                    await page.press("input[name=password]", "Enter")
                    await page.wait_for_url(f"{base}/calls")

                    await page.fill("input[name=from]", "2026-11-02T13:30")
                    await page.fill("input[name=to]", "2026-11-02T15:00")
                    await page.fill("input[name=number]", "138*5678")
                    await expect(page.locator("#search")).to_have_text(search)
                    await page.click("#search")
                    rows = page.locator("#calls tbody tr")
                    await expect(rows).to_have_count(1)
                    await expect(rows.first).to_contain_text("138****5678")
                    await page.click("a.call-link")
                    await page.wait_for_url(f"{base}/calls/pbx1/c1")

                    item = page.locator("#timeline li.event-violation")
                    await expect(item).to_contain_text(violation)
                    await expect(item.locator(".action")).to_have_text(action)
                    await expect(item.locator(".result")).to_have_text(result)
                    await expect(page.locator("audio")).to_have_attribute(
                        "src", "/recordings/pbx1/c1/c1.wav")
                    await page.click("[data-act=play]")
                    await expect(page.locator("[data-player]").first).to_have_attribute(
                        "data-progress", MOVED, timeout=10_000)
                    await context.close()
            finally:
                await browser.close()
    played = await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = "
                                 "'recording_played' AND object = 'call:pbx1/c1'")
    viewed = await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'call_viewed'")
    assert played >= 2 and viewed == 2
