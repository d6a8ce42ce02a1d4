"""In a real browser (Chromium), in Chinese and English: a supervisor sets the softphone on
the account page, then listens, whispers and barges on a simulated live call from the
wallboard and stops each session; and listens from the call's page, which then says who
monitored it.

Screenshots go to ``test-artifacts/`` (or ``$CALLCENTER_ARTIFACTS``).
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from callcenter.web.testing import ensure_user
from tests.support.monitoring import monitor_rig
from tests.support.wait import until

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("CALLCENTER_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / "test-artifacts")
TEXT = {
    "zh": {"saved": "您的软电话分机已保存。", "listen": "监听", "whisper": "耳语", "barge": "强插",
           "active": "监听中（{}）", "ended": "监听已结束。", "locale": "zh-CN",
           "by": "由 {} 于"},
    "en": {"saved": "Your softphone endpoint was saved.", "listen": "Listen",
           "whisper": "Whisper", "barge": "Barge", "active": "Monitoring ({})",
           "ended": "Monitoring ended.", "locale": "en-GB", "by": "monitored by {} from"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_listen_whisper_barge_from_the_wallboard(pool: asyncpg.Pool, tmp_path: Path,
                                                       chromium: str, lang: str) -> None:
    from playwright.async_api import async_playwright, expect

    t = TEXT[lang]
    async with monitor_rig(pool, tmp_path) as rig:
        base = str(rig.client.make_url("")).rstrip("/")
        name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
        await pool.execute("UPDATE users SET language = $2 WHERE username = $1", name, lang)
        call = await rig.live_call("agent1002")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium)
            try:
                page = await browser.new_page(locale=t["locale"],
                                              viewport={"width": 1600, "height": 900})
                await page.goto(f"{base}/account")
                await page.fill("input[name=username]", name)
                await page.fill("input[name=password]", password)
                await page.press("input[name=password]", "Enter")
                await page.wait_for_url(f"{base}/account")
                await page.fill("#softphone-form input[name=softphone]", "supervisor2001")
                await page.click("#softphone-form button[type=submit]")
                await expect(page.locator("p.notice")).to_have_text(t["saved"])

                await page.goto(f"{base}/wallboard")
                cell = page.locator('#board tr[data-agent="agent1002"] td.call')
                bar = page.locator("#monitor-bar")
                for mode in ("listen", "whisper", "barge"):
                    button = cell.locator(f"button.monitor-{mode}")
                    await expect(button).to_have_text(t[mode], timeout=10_000)
                    await button.click()
                    await expect(bar.locator(".monitor-text")).to_have_text(
                        t["active"].format(t[mode]), timeout=10_000)
                    await page.screenshot(path=str(ARTIFACTS / f"monitor-{mode}-{lang}.png"))
                    await bar.locator(".monitor-stop").click()
                    await expect(bar.locator(".monitor-text")).to_have_text(t["ended"],
                                                                            timeout=10_000)
                    await expect(bar.locator(".monitor-stop")).to_be_hidden()
            finally:
                await browser.close()
        rows = await until(lambda: pool.fetch(
            "SELECT mode, status, outcome, supervisor FROM monitoring_sessions"
            " WHERE linkedid = $1 AND status = 'ended' ORDER BY id", call.linkedid))
        assert [(r["mode"], r["outcome"], r["supervisor"]) for r in rows] == [
            (m, "ended", name) for m in ("listen", "whisper", "barge")]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_listen_from_the_call_page(pool: asyncpg.Pool, tmp_path: Path, chromium: str,
                                         lang: str) -> None:
    from playwright.async_api import async_playwright, expect

    t = TEXT[lang]
    async with monitor_rig(pool, tmp_path) as rig:
        base = str(rig.client.make_url("")).rstrip("/")
        name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
        await pool.execute("UPDATE users SET language = $2, softphone = 'supervisor2001'"
                           " WHERE username = $1", name, lang)
        call = await rig.live_call("agent1003")
        await until(lambda: pool.fetchval("SELECT answered_at FROM calls WHERE linkedid = $1",
                                          call.linkedid))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium)
            try:
                page = await browser.new_page(locale=t["locale"])
                url = f"{base}/calls/sim/{call.linkedid}"
                await page.goto(url)
                await page.fill("input[name=username]", name)
                await page.fill("input[name=password]", password)
                await page.press("input[name=password]", "Enter")
                await page.wait_for_url(url)
                await page.click(".monitor-call button.monitor-listen")
                bar = page.locator("#monitor-bar")
                await expect(bar.locator(".monitor-text")).to_have_text(
                    t["active"].format(t["listen"]), timeout=10_000)
                await bar.locator(".monitor-stop").click()
                await expect(bar.locator(".monitor-text")).to_have_text(t["ended"],
                                                                        timeout=10_000)
                await page.reload()
                await expect(page.locator(".monitoring-sessions li")).to_contain_text(
                    t["by"].format(name))
                await page.screenshot(path=str(ARTIFACTS / f"monitor-call-page-{lang}.png"))
            finally:
                await browser.close()
