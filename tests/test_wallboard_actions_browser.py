"""In a real browser, in English and in Chinese: a supervisor pauses an agent from the
wallboard with a reason; the QueuePause reaches the simulated PBX through the command port,
the board shows the agent paused as Asterisk reports it, the action is audited; then the
supervisor unpauses the agent.

Screenshots go to ``test-artifacts/`` (or ``$CALLCENTER_ARTIFACTS``).
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from callcenter.commands import CommandPort
from callcenter.store.audit import AuditRepository
from callcenter.web.testing import ensure_user
from tests.support.web_board import serve, sign_in, sim_board

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("CALLCENTER_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / "test-artifacts")
TEXT = {
    "en-US": {"paused": "agent1001 is paused: Lunch.",
              "unpaused": "agent1001 is no longer paused.", "state": "Paused (busy)",
              "reason": "Lunch"},
    "zh-CN": {"paused": "agent1001 已示忙：午餐。", "unpaused": "agent1001 已示闲。",
              "state": "示忙", "reason": "午餐"},
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
async def test_supervisor_pauses_an_agent_from_the_wallboard(
        pool: asyncpg.Pool, tmp_path: Path, chromium: str, locale: str) -> None:
    from playwright.async_api import async_playwright, expect

    text = TEXT[locale]
    name, password = await ensure_user(pool, "supervisor", None, "browser-test-pw")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with sim_board(pool, tmp_path, keep_events=True) as rig, \
            serve(rig.settings, pool, live=rig.live,
                  commands=CommandPort(rig.daemon.clients)) as base, \
            async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page(locale=locale, viewport={"width": 1600, "height": 900})
            await sign_in(page, base, "/wallboard", name, password)
            row = page.locator('#board tr[data-agent="agent1001"]')
            await expect(row.locator("button.agent-act")).to_be_visible(timeout=10_000)
            await row.locator("button.agent-act").click()
            dialog = page.locator("#agent-actions")
            await expect(dialog).to_be_visible()
            await dialog.locator("select[name=reason]").select_option("lunch")
            await dialog.locator('form[data-action="pause"] button').click()
            result = page.locator("#agent-action-result")
            await expect(result).to_have_text(text["paused"], timeout=10_000)
            await expect(result).to_have_class("notice")
            await page.screenshot(path=str(ARTIFACTS / f"wallboard-pause-{locale}.png"))
            await dialog.locator("button.close").click()
            await expect(dialog).to_be_hidden()
            # the board shows what Asterisk reported back, not our wish
            await expect(row.locator("td.state")).to_contain_text(text["state"], timeout=10_000)
            await expect(row.locator("td.state .reason")).to_have_text(text["reason"])

            await row.locator("button.agent-act").click()
            await dialog.locator('form[data-action="unpause"] button').click()
            await expect(result).to_have_text(text["unpaused"], timeout=10_000)
            await dialog.locator("button.close").click()
            await expect(row.locator("td.state .reason")).to_have_count(0, timeout=10_000)
        finally:
            await browser.close()
        actions = rig.sim.actions
    pauses = [{k: v for k, v in a.items() if k != "ActionID"}
              for a in actions if a.get("Action") == "QueuePause"]
    assert pauses == [
        {"Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "true",
         "Reason": "lunch"},
        {"Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "false"}]
    audit = await AuditRepository(pool).entries(object="agent:PJSIP/agent1001")
    assert [(e.actor, e.action, e.details["ok"]) for e in reversed(audit)] == [
        (name, "agent_paused", True), (name, "agent_unpaused", True)]
