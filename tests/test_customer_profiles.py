"""Customers (#23): the configured profile validated server-side (errors keyed by field),
the key-account flag and tier (supervisors set them), the list with search, sorting and
pages, and the [customers] / [scripts] settings refusing bad values with the key named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import asyncpg
import pytest

from callcenter.agentpanel.customers import PAGE_SIZE, CustomerDesk
from callcenter.agentpanel.forms import FormError
from callcenter.settings import Settings, SettingsError, load_settings
from callcenter.store.audit import AuditRepository
from callcenter.store.followups import FollowUpRepository
from callcenter.web.testing import web_client
from tests.support.agent_panel import ALICE
from tests.support.agent_panel import SUPER as SUE
from tests.support.pseudo import leaks_in_html, use_pseudo_locale


@pytest.fixture
def desk(pool: asyncpg.Pool) -> CustomerDesk:
    return CustomerDesk(pool, AuditRepository(pool), "9", Settings().customers)


async def test_the_profile_is_validated_and_stored(desk: CustomerDesk,
                                                   pool: asyncpg.Pool) -> None:
    with pytest.raises(FormError) as bad:
        await desk.create(ALICE, {"name": "", "profile.gender": "robot", "profile.age": "old",
                                  "profile.products": ["tv", "boat"]})
    assert bad.value.errors == {
        "name": "This field is required.", "profile.gender": "Choose from the list.",
        "profile.age": "Enter a whole number.", "profile.products": "Choose from the list."}
    with pytest.raises(FormError) as far:
        await desk.create(ALICE, {"name": "Li", "profile.age": "200"})
    assert far.value.errors == {"profile.age": "The number is out of range."}
    made = await desk.create(ALICE, {
        "name": "Li Na", "profile.gender": "female", "profile.age": " 34 ",
        "profile.occupation": "teacher", "profile.products": ["tv", "mobile"],
        "profile.purchase_intent": "", "key_account": "1", "tier": "gold"})
    assert made.profile == {"gender": "female", "age": 34, "occupation": "teacher",
                            "products": ["tv", "mobile"]}
    assert (made.key_account, made.tier) == (False, None)  # an agent does not set them
    assert await pool.fetchval("SELECT profile->>'age' FROM customers WHERE id = $1",
                               made.id) == "34"
    shown = desk.profile.shown(made.profile, "zh")
    assert ("性别", "女") in shown and ("已购产品", "电视, 手机套餐") in shown


async def test_required_fields_and_dates_come_from_the_settings(pool: asyncpg.Pool) -> None:
    settings = Settings.model_validate({"customers": {"fields": [
        {"name": "contract", "type": "date", "required": True,
         "label": {"zh": "合同日期", "en": "Contract date"}},
        {"name": "lines", "type": "multi-choice", "required": True,
         "label": {"zh": "线路", "en": "Lines"},
         "choices": [{"value": "a", "label": {"zh": "甲", "en": "A"}}]}]}})
    desk = CustomerDesk(pool, AuditRepository(pool), "9", settings.customers)
    with pytest.raises(FormError) as missing:
        await desk.create(ALICE, {"name": "Li", "profile.contract": "31.12.2026"})
    assert missing.value.errors == {"profile.contract": "Not a date (YYYY-MM-DD).",
                                    "profile.lines": "This field is required."}
    made = await desk.create(ALICE, {"name": "Li", "profile.contract": "2026-12-31",
                                     "profile.lines": "a"})
    assert made.profile == {"contract": "2026-12-31", "lines": ["a"]}


async def test_a_supervisor_sets_the_key_account_and_a_known_tier(desk: CustomerDesk) -> None:
    made = await desk.create(ALICE, {"name": "Wang"})
    with pytest.raises(FormError) as bad:
        await desk.update(SUE, made.id, {"name": "Wang", "key_account": "1", "tier": "platinum"})
    assert set(bad.value.errors) == {"tier"}
    with pytest.raises(FormError):
        await desk.update(SUE, made.id, {"name": "Wang", "tier": "gold"})  # not a key account
    vip = await desk.update(SUE, made.id, {"name": "Wang", "key_account": "on", "tier": "gold"})
    assert (vip.key_account, vip.tier) == (True, "gold")
    kept = await desk.update(ALICE, made.id, {"name": "Wang Wei"})  # an agent keeps them
    assert (kept.name, kept.key_account, kept.tier) == ("Wang Wei", True, "gold")
    plain = await desk.update(SUE, made.id, {"name": "Wang Wei"})
    assert (plain.key_account, plain.tier) == (False, None)


async def test_the_list_searches_sorts_and_pages(desk: CustomerDesk) -> None:
    assert (await desk.search(ALICE, "")).total == 0
    for i in range(PAGE_SIZE + 3):
        await desk.create(ALICE, {"name": f"Customer {i:02d}", "company": "Acme" if i % 2
                                  else "Beta", "phones": f"1380000{i:04d}"})
    first = await desk.search(ALICE, "")
    assert first.total == PAGE_SIZE + 3 and len(first.customers) == PAGE_SIZE
    second = await desk.search(ALICE, "", page=2)
    assert [c.name for c in second.customers] == ["Customer 25", "Customer 26", "Customer 27"]
    assert (await desk.search(ALICE, "acme")).total == (PAGE_SIZE + 3) // 2
    assert [c.name for c in (await desk.search(ALICE, "00013")).customers] == ["Customer 13"]
    by_company = (await desk.search(ALICE, "", sort="company")).customers
    assert [c.company for c in by_company[12:16]] == ["Acme", "Acme", "Beta", "Beta"]
    newest = (await desk.search(ALICE, "", sort="updated")).customers
    assert newest[0].name == "Customer 27"
    assert (await desk.search(ALICE, "", sort="; DROP TABLE customers")).total == PAGE_SIZE + 3


@pytest.mark.parametrize(("text", "needle"), [
    ('[scripts.queues.sales.zh]\ngreeting = "您好，{compny}"\n',
     "scripts.queues.sales.zh.greeting"),
    ('[scripts.default.en]\nclose = "Bye {"\n', "scripts.default.en.close"),
    ('[scripts.default.en]\nconfirm = ["Is it {customer!r}?"]\n', "scripts.default.en.confirm"),
    ('[customers]\ntiers = { gold = 0 }\n', "customers.tiers"),
    ('[customers]\ntiers = { "Gold Star" = 5 }\n', "customers.tiers"),
    ('[[customers.fields]]\nname = "x"\ntype = "choice"\nlabel = {zh = "甲", en = "A"}\n',
     "customers.fields"),
    ('[[customers.fields]]\nname = "x"\ntype = "decimal"\nlabel = {zh = "甲", en = "A"}\n',
     "customers.fields.0.type"),
    ('[agent_panel]\nfollow_up_time = "25:00"\n', "agent_panel.follow_up_time"),
])
def test_bad_customer_and_script_settings_name_the_key(tmp_path: Path, text: str,
                                                       needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, env={})
    assert needle in str(err.value)


def test_scripts_fall_back_part_by_part(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text('[scripts.queues.sales.en]\ngreeting = "Hello, {company} sales!"\n'
                   'department = "Sales"\n[customers]\ntiers = { vip = 20, gold = 10 }\n',
                   encoding="utf-8")
    settings = load_settings(cfg, env={})
    sales = settings.scripts.script("sales", "en")
    assert (sales.greeting, sales.department) == ("Hello, {company} sales!", "Sales")
    assert sales.close == "Thank you for calling. Goodbye!"
    assert settings.scripts.script("support", "zh").greeting == "您好，{company}！"
    assert settings.customers.tiers == {"vip": 20, "gold": 10}
    assert settings.customers.tier_label("gold", "zh") == "金牌"
    assert settings.customers.tier_label("vip", "en") == "vip"


async def test_the_pages_with_data_go_through_translation(
        pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pseudo locale over the customer and follow-up pages with a key account, a
    profile, pool and overdue follow-ups and a form's errors (the sweep of every route
    sees them empty)."""
    use_pseudo_locale(monkeypatch)
    settings = Settings.model_validate({"web": {"secure_cookies": False}})
    desk = CustomerDesk(pool, AuditRepository(pool), "9", settings.customers)
    made = await desk.create(ALICE, {"name": "⟦name⟧", "phones": "13800000001",
                                     "profile.gender": "female", "profile.products": ["tv"]})
    await desk.update(SUE, made.id, {"name": "⟦name⟧", "key_account": "1", "tier": "gold"})
    await pool.execute(
        "INSERT INTO queue_members (server, queue, interface, agent, in_queue, state, paused,"
        " updated_at) VALUES ('pbx1', 'support', 'PJSIP/agent1001', 'agent1001', true,"
        " 'idle', false, now())")
    repo = FollowUpRepository(pool)
    for agent, queue in (("agent1001", None), (None, "support")):
        await repo.create(agent=agent, queue=queue, number="13800000001", every_days=7,
                          due_on=date(2026, 1, 5), purpose="⟦text⟧", customer_id=made.id)
    pages = {"agent": ["/agent/follow-ups", "/agent/customers", f"/agent/customers/{made.id}"],
             "supervisor": ["/agent/follow-ups/overdue", "/agent/follow-ups/overdue?pool=1",
                            "/agent/customers?q=139", f"/agent/customers/{made.id}"]}
    leaks = {}
    for role, paths in pages.items():
        async with web_client(settings, pool, role=role) as client:
            for path in paths:
                resp = await client.get(path)
                assert resp.status == 200, (role, path)
                leaks[(role, path)] = leaks_in_html(await resp.text())
            bad = await client.post(f"/agent/customers/{made.id}", data={
                "csrf_token": client.csrf, "name": "", "profile.age": "x", "tier": "nope"})
            assert bad.status == 400
            leaks[(role, "bad form")] = leaks_in_html(await bad.text())
    assert not {k: v for k, v in leaks.items() if v}
