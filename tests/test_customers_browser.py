"""In a real browser, in Chinese and in English (#23): the call script beside the
customer's history on the screen pop, with the agent's name and the queue's department
filled in and the key account marked; a reminder when a follow-up falls due, without a
reload; taking a follow-up from a queue's pool (and being told when a colleague was
first); a recurring follow-up that comes back once it is done; the customer list's empty
state and a profile saved with its errors shown per field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from callcenter.settings import ScriptSettings, ScriptText, Settings
from callcenter.sim import AgentScript
from callcenter.store.followups import FollowUpRepository
from callcenter.store.users import UserRepository
from callcenter.web.keys import SETTINGS
from callcenter.web.testing import ensure_user, web_client
from tests.support.agent_panel import NEVER, Rig, rig
from tests.support.web_board import sign_in

__all__ = ["rig"]  # the fixture, shared with the simulator tests

pytestmark = pytest.mark.browser
LANGS = ("zh", "en")
TZ = ZoneInfo("Asia/Shanghai")
WORDS = {
    "zh": {"greeting": "您好，星河通信！", "department": "账务部", "key": "重点客户 · 金牌",
           "taken": "该回访已被 agent1002 领取。", "empty": "还没有客户。",
           "choose": "请从列表中选择。"},
    "en": {"greeting": "Hello, Galaxy Telecom!", "department": "Billing", "key": "Key account · Gold",
           "taken": "agent1002 has already taken this follow-up.", "empty": "No customers yet.",
           "choose": "Choose from the list."},
}


@asynccontextmanager
async def signed_in(chromium: str, pool: asyncpg.Pool, base: str, lang: str,
                    agent: str = "agent1001", role: str = "agent",
                    next_path: str = "/agent") -> AsyncIterator[Any]:
    """A browser page signed in as the test user of ``role`` speaking ``lang``."""
    from playwright.async_api import async_playwright

    name, password = await ensure_user(pool, role, agent if role == "agent" else None,
                                       "browser-test-pw")
    await UserRepository(pool).set_language(name, lang)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page()
            await sign_in(page, base, next_path, name, password)
            yield page
        finally:
            await browser.close()


@pytest.mark.parametrize("lang", LANGS)
async def test_the_screen_pop_shows_the_script_and_a_reminder_comes_on_time(
        rig: Rig, chromium: str, lang: str) -> None:
    from playwright.async_api import expect

    settings = rig.client.app[SETTINGS]
    settings.web.company_name = "星河通信" if lang == "zh" else "Galaxy Telecom"
    settings.scripts = ScriptSettings(queues={"billing": {
        "zh": ScriptText(department="账务部"), "en": ScriptText(department="Billing")}})
    await rig.pool.execute(
        "INSERT INTO customers (name, key_account, tier, created_by, updated_by)"
        " VALUES ('Zhao Lei', true, 'gold', 't', 't');"
        " INSERT INTO customer_phones SELECT '13800000009', id FROM customers")
    base = str(rig.client.make_url("/")).rstrip("/")
    async with signed_in(chromium, rig.pool, base, lang) as page:
        await expect(page.locator("#stream-status")).to_have_text("实时" if lang == "zh"
                                                                   else "Live")
        local = (datetime.now(UTC) + timedelta(seconds=2)).astimezone(TZ)
        await FollowUpRepository(rig.pool).create(
            agent="agent1001", number="13800000007", due_on=local.date(),
            due_time=time(local.hour, local.minute, local.second), purpose="回访满意度",
            customer_id=None)
        reminders = page.locator("#reminders")
        await expect(reminders).to_be_hidden()
        await expect(reminders).to_be_visible(timeout=15_000)  # no reload: the stream
        await expect(reminders).to_contain_text("回访满意度")

        call = await rig.sim.inbound_call("+8613800000009", "803", agents={
            "agent1001": AgentScript(answer_after=3, talk=2),
            "agent1002": NEVER, "agent1003": NEVER})
        pop = page.locator("#screen-pop")
        await expect(pop).to_be_visible(timeout=5_000)
        await expect(pop.locator('[data-field="key-account"]')).to_have_text(
            "★ " + WORDS[lang]["key"])
        script = page.locator("#call-script")
        await expect(script.locator('[data-script="greeting"]')).to_have_text(
            WORDS[lang]["greeting"])
        introduction = script.locator('[data-script="introduction"]')
        await expect(introduction).to_contain_text("Alice Agent")  # the agent's name
        await expect(introduction).to_contain_text(WORDS[lang]["department"])
        await expect(script.locator('[data-script="confirm"] li')).to_have_count(2)
        await expect(script.locator('[data-script="close"]')).to_contain_text(
            "感谢您的来电" if lang == "zh" else "Thank you for calling")
        assert await call == "answered"


@pytest.fixture
def settings() -> Settings:
    return Settings.model_validate({"web": {"secure_cookies": False}})


@pytest.fixture
async def team(pool: asyncpg.Pool) -> FollowUpRepository:
    """agent1001 and agent1002 in queue support."""
    await pool.execute(
        "INSERT INTO queue_members (server, queue, interface, agent, in_queue, state, paused,"
        " updated_at) SELECT 'pbx1', 'support', 'PJSIP/' || a, a, true, 'idle', false, now()"
        " FROM unnest(ARRAY['agent1001', 'agent1002']) AS a")
    return FollowUpRepository(pool)


@pytest.mark.parametrize("lang", LANGS)
async def test_taking_a_pool_follow_up(pool: asyncpg.Pool, settings: Settings, chromium: str,
                                       team: FollowUpRepository, lang: str) -> None:
    from playwright.async_api import expect

    today = datetime.now(TZ).date()
    mine = await team.create(agent=None, queue="support", number="13800000001", due_on=today,
                             purpose="first", customer_id=None)
    contested = await team.create(agent=None, queue="support", number="13800000002",
                                  due_on=today, purpose="second", customer_id=None)
    async with web_client(settings, pool, role="agent") as client:
        base = str(client.make_url("/")).rstrip("/")
        async with signed_in(chromium, pool, base, lang, next_path="/agent/follow-ups") as page:
            pooled = page.locator("#follow-up-pool")
            await expect(pooled.locator("tr[data-follow-up]")).to_have_count(2)
            await pooled.locator(f'tr[data-follow-up="{mine.id}"] button.take').click()
            await expect(page.locator(f'#follow-ups tr[data-follow-up="{mine.id}"]')).to_be_visible()
            await expect(pooled.locator("tr[data-follow-up]")).to_have_count(1)

            await team.take(contested.id, "agent1002")  # a colleague is quicker
            await pooled.locator(f'tr[data-follow-up="{contested.id}"] button.take').click()
            await expect(page.locator("#take-refused")).to_have_text(WORDS[lang]["taken"])
            await expect(pooled.locator("tr[data-follow-up]")).to_have_count(0)
            await expect(page.locator(f'#follow-ups tr[data-follow-up="{contested.id}"]')).to_have_count(0)


@pytest.mark.parametrize("lang", LANGS)
async def test_a_recurring_follow_up_comes_back_after_it_is_done(
        pool: asyncpg.Pool, settings: Settings, chromium: str, team: FollowUpRepository,
        lang: str) -> None:
    from playwright.async_api import expect

    due = datetime.now(TZ).date() + timedelta(days=1)
    async with web_client(settings, pool, role="agent") as client:
        base = str(client.make_url("/")).rstrip("/")
        async with signed_in(chromium, pool, base, lang, next_path="/agent/follow-ups") as page:
            form = page.locator("#plan-follow-up")
            await form.locator("input[name=number]").fill("13800000003")
            await form.locator("input[name=due_on]").fill(due.isoformat())
            await form.locator("input[name=due_time]").fill("16:30")
            await form.locator("input[name=every_days]").fill("7")
            await form.locator("input[name=purpose]").fill("weekly check")
            await form.locator("button[type=submit]").click()
            rows = page.locator("#follow-ups tr.status-open")
            await expect(rows).to_have_count(1)
            await expect(rows).to_contain_text(f"{due.isoformat()} 16:30")
            await rows.locator("button[value=done]").click()
            await expect(page.locator("#follow-ups tr.status-done")).to_have_count(1)
            again = page.locator("#follow-ups tr.status-open")
            await expect(again).to_have_count(1)  # the next one, a week later
            await expect(again).to_contain_text(f"{due + timedelta(days=7)} 16:30")
            await expect(again).to_contain_text("weekly check")


@pytest.mark.parametrize("lang", LANGS)
async def test_the_customer_list_empty_state_and_the_profile_form(
        pool: asyncpg.Pool, settings: Settings, chromium: str, lang: str) -> None:
    from playwright.async_api import expect

    async with web_client(settings, pool, role="supervisor") as client:
        base = str(client.make_url("/")).rstrip("/")
        async with signed_in(chromium, pool, base, lang, role="supervisor",
                             next_path="/agent/customers") as page:
            await expect(page.locator("#customers-empty")).to_contain_text(
                WORDS[lang]["empty"])
            await page.goto(f"{base}/agent/customers/new")
            await page.fill("input[name=name]", "Qian Yu")
            await page.fill('input[name="profile.age"]', "abc")
            await page.check('input[name="profile.products"][value="tv"]')
            await page.check("input[name=key_account]")
            await page.select_option("select[name=tier]", "gold")
            await page.click("form.sheet button[type=submit]")
            await expect(page.locator('[data-error="profile.age"]')).to_be_visible()
            await expect(page.locator('input[name="profile.products"][value="tv"]')).to_be_checked()
            await page.fill('input[name="profile.age"]', "41")
            await page.click("form.sheet button[type=submit]")
            await expect(page.locator("#customer-saved")).to_be_visible()
            await expect(page.locator("#key-account")).to_contain_text(WORDS[lang]["key"])
            await page.goto(f"{base}/agent/customers?q=qian")
            row = page.locator("#customer-list tr.key-account")
            await expect(row).to_contain_text("Qian Yu")
            await expect(row).to_contain_text(WORDS[lang]["key"])
