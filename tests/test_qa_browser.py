"""In a real browser: a QA inspector opens the work queue, plays the recording (the player
reports progress, 2× speed by key), scores the call, submits; the report shows it."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest
from test_qa_reviews import FULL
from test_qa_web import FEATURES, queued, settings

from callcenter.settings import Settings
from callcenter.sim.wav import write_wav
from callcenter.web.testing import ensure_user, web_client

__all__ = ["settings"]  # the fixture, shared with the web tests

pytestmark = pytest.mark.browser
MOVED = re.compile(r"^(?!0\.00$)\d+\.\d\d$")
"""The player's data-progress once the audio has moved past 0 s."""



async def test_inspector_plays_scores_and_submits(pool: asyncpg.Pool, settings: Settings,
                                                  tmp_path: Path, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    settings.recordings.store_dir = str(tmp_path)
    await queued(pool, settings)
    write_wav(tmp_path / "1.1.wav", 6.0)
    await pool.execute("UPDATE recordings SET path = '1.1.wav', format = 'wav'")
    name, password = await ensure_user(pool, "qa", None, "browser-test-pw")
    features = ("callcenter.recordings.http", *FEATURES)
    async with web_client(settings, pool, role=None, features=features) as client:
        base = str(client.make_url("/")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=chromium, args=["--autoplay-policy=no-user-gesture-required"])
            try:
                page = await browser.new_page(locale="en-US")
                await page.goto(f"{base}/login?next=/qa")
                await page.fill("input[name=username]", name)
                await page.fill("input[name=password]", password)
                await page.press("input[name=password]", "Enter")
                await page.wait_for_url(f"{base}/qa")
                await page.click("a.score-link")
                await page.wait_for_url(f"{base}/qa/reviews/*")

                await page.keyboard.press("3")  # 2× speed
                await page.click("[data-act=play]")
                player = page.locator("[data-player]").first
                await expect(player).to_have_attribute("data-progress", MOVED, timeout=10_000)
                assert await page.evaluate("document.getElementById('player').playbackRate") == 2
                await expect(page.locator("[data-speed='2']")).to_have_class("on")
                await expect(player.locator("[data-position]")).not_to_have_text("0:00",
                                                                                 timeout=10_000)

                for item, value in FULL.items():
                    await page.select_option(f"select[name='score.{item}']", str(value))
                await page.fill("textarea[name=comment]", "clear and polite")
                await page.click("#submit-review")
                await expect(page.locator("#total")).to_have_text("89.1")
                await expect(page.locator("select")).to_have_count(0)  # read-only now

                await page.goto(f"{base}/qa/report")
                await expect(page.locator("table.qa-reviews")).to_contain_text("89.1")
                await expect(page.locator("table.qa-reviews")).to_contain_text("agent1001")
            finally:
                await browser.close()
