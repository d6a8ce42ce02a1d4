"""In a real browser: a QA inspector opens the work queue, plays the recording (the player
reports progress, 2× speed by key), scores the call, submits; the report shows it."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.settings import Settings
from callcenter.sim.wav import write_wav
from callcenter.web.testing import ensure_user, web_client
from tests.support.qa import FEATURES, FULL, queued, scored, settings

WORDS = {
    "en-US": {"incomplete": "incomplete", "submitted": "Submitted", "edited": "You edited an item"},
    "zh-CN": {"incomplete": "未完成", "submitted": "已提交", "edited": "您修改了评分项"},
}

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
    features = ("callcenter.recordings.web", *FEATURES)
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

                played = "SELECT count(*) FROM audit_log WHERE action = 'recording_played'"
                assert await pool.fetchval(played) == 0  # opening the page is no play
                await page.keyboard.press("3")  # 2× speed
                await page.click("[data-act=play]")
                player = page.locator("[data-player]").first
                await expect(player).to_have_attribute("data-progress", MOVED, timeout=10_000)
                await expect(player).to_have_attribute("data-played", "yes")
                assert await pool.fetchval(played) == 1
                assert await page.evaluate("document.getElementById('player').playbackRate") == 2
                await expect(page.locator("[data-speed='2']")).to_have_class("on")
                await expect(player.locator("[data-position]")).not_to_have_text("0:00",
                                                                                 timeout=10_000)

                for item, value in FULL.items():
                    await page.select_option(f"select[name='score.{item}']", str(value))
                await page.fill("textarea[name=comment]", "clear and polite")
                await page.click("#submit-review")
                await page.click("#confirm-submit-button")
                await expect(page.locator("#total")).to_have_text("89.1")
                await expect(page.locator("select")).to_have_count(0)  # read-only now

                await page.goto(f"{base}/qa/report")
                await expect(page.locator("table.qa-reviews")).to_contain_text("89.1")
                await expect(page.locator("table.qa-reviews")).to_contain_text("agent1001")
            finally:
                await browser.close()


@contextlib.asynccontextmanager
async def signed_in_page(pool: asyncpg.Pool, settings: Settings, chromium: str, role: str,
                         locale: str) -> AsyncIterator[tuple[Any, str]]:
    """A browser page signed in as a new user of ``role`` in ``locale``, and the base URL."""
    from playwright.async_api import async_playwright

    name, password = await ensure_user(pool, role, None, "browser-test-pw")
    async with web_client(settings, pool, role=None, features=FEATURES) as client:
        base = str(client.make_url("/")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium)
            try:
                page = await browser.new_page(locale=locale)
                await page.goto(f"{base}/login")
                await page.fill("input[name=username]", name)
                await page.fill("input[name=password]", password)
                await page.press("input[name=password]", "Enter")
                await page.wait_for_url(f"{base}/")
                yield page, base
            finally:
                await browser.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
async def test_submit_confirms_and_names_the_unscored_items(
        pool: asyncpg.Pool, settings: Settings, chromium: str, locale: str) -> None:
    from playwright.async_api import expect

    aid = await queued(pool, settings)
    words = WORDS[locale]
    async with signed_in_page(pool, settings, chromium, "qa", locale) as (page, base):
        await page.goto(f"{base}/qa/assignments/{aid}")
        await expect(page.locator("#total")).to_have_text(words["incomplete"])
        await page.select_option("select[name='score.standard_greeting']", "1")
        await page.click("#submit-review")
        dialog = page.locator("#confirm-submit")
        await expect(dialog).to_be_visible()
        unscored = dialog.locator("[data-unscored-list] li")
        await expect(unscored).to_have_count(7)  # 8 open, one just scored
        polite = "礼貌结束" if locale == "zh-CN" else "Closed politely"
        await expect(dialog.locator("[data-unscored-list]")).to_contain_text(polite)
        await expect(page.locator("#confirm-submit-button")).to_be_disabled()
        await dialog.locator("[data-close]").click()
        await expect(dialog).to_be_hidden()
        assert await pool.fetchval("SELECT status FROM qa_reviews") == "draft"

        for item, value in FULL.items():
            await page.select_option(f"select[name='score.{item}']", str(value))
        await page.click("#submit-review")
        await expect(dialog.locator("[data-unscored]")).to_be_hidden()
        await page.click("#confirm-submit-button")
        await expect(page.locator(".notice")).to_contain_text(words["submitted"])
        await expect(page.locator("#total")).to_have_text("89.1")
        assert await pool.fetchval("SELECT status FROM qa_reviews") == "submitted"


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
async def test_editing_an_item_while_resolving_means_change(
        pool: asyncpg.Pool, settings: Settings, chromium: str, locale: str) -> None:
    from playwright.async_api import expect

    review_id = await scored(pool, settings)
    async with web_client(settings, pool, role="agent", features=FEATURES) as agent:
        resp = await agent.post(f"/qa/reviews/{review_id}/respond", data={
            "csrf_token": agent.csrf, "response": "disputed", "response_comment": "I did"})
        assert resp.status == 200
    async with signed_in_page(pool, settings, chromium, "supervisor", locale) as (page, base):
        await page.goto(f"{base}/qa/reviews/{review_id}")
        upheld = page.locator("input[name=decision][value=upheld]")
        changed = page.locator("input[name=decision][value=changed]")
        await expect(upheld).to_be_checked()
        await page.select_option("select[name='score.polite_close']", "1")
        await expect(changed).to_be_checked()
        await expect(page.locator("#decision-note")).to_contain_text(WORDS[locale]["edited"])
        await page.fill("textarea[name=resolution_comment]", "heard it at 03:10")
        await page.click("#sheet button.primary")
        await page.wait_for_url(f"{base}/qa/reviews/{review_id}")
        await expect(page.locator("#total")).to_have_text("95.3")
    row = await pool.fetchrow("SELECT resolution, total FROM qa_reviews WHERE id = $1", review_id)
    assert row["resolution"] == "changed" and round(row["total"], 1) == 95.3
