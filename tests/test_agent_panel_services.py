"""Agent panel services on a real database: customers, notes, complaints, follow-ups, day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from callcenter.agentpanel.customers import CustomerDesk
from callcenter.agentpanel.day import AgentDay, day_bounds
from callcenter.agentpanel.followups import FollowUpDesk, dial_string
from callcenter.agentpanel.forms import FormError
from callcenter.agentpanel.notes import NoteDesk
from callcenter.agentpanel.presence import NoPbx, Presence
from callcenter.calls.model import RingAttempt
from callcenter.commands import CommandResult
from callcenter.complaints.overdue import OverdueWatch
from callcenter.complaints.service import ComplaintDesk
from callcenter.numbers import InvalidNumber, normalise_number
from callcenter.refusals import Forbidden, NotFound
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.calls import CallRepository
from callcenter.store.complaints import Listing
from tests.support.agent_panel import ALICE, BOB, NOW, QA, SUPER, call

TODAY = date(2026, 12, 1)


@dataclass
class FakePort:
    """A command port that records calls (the simulator tests use the real one)."""

    sent: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    servers: list[str] = field(default_factory=lambda: ["pbx1"])

    async def originate(self, *args: Any) -> CommandResult:
        self.sent.append(("originate", args))
        return CommandResult("ok", "Originate successfully queued", args[-1])


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def audit(pool: asyncpg.Pool) -> AuditRepository:
    return AuditRepository(pool)


def test_numbers_normalise_to_the_domestic_form() -> None:
    cases = {"+86 138 0000 0001": "13800000001", "008613800000001": "13800000001",
             "8613800000001": "13800000001", "138-0000-0001": "13800000001",
             "+86 10 8888 9999": "01088889999", "010-8888 9999": "01088889999",
             "0044 20 7946 0000": "+442079460000", "1001": "1001"}
    assert {raw: normalise_number(raw) for raw in cases} == cases
    for bad in ("", "abc", "12", "+86 138 abc"):
        with pytest.raises(InvalidNumber):
            normalise_number(bad)


async def test_customers_crud_matching_and_validation(pool: asyncpg.Pool,
                                                      audit: AuditRepository) -> None:
    desk = CustomerDesk(pool, audit, "9")
    made = await desk.create(ALICE, {"name": " Wang Wei ", "company": "ACME",
                                     "phones": "+86 138 0000 0001, 010-8888 9999"})
    assert (made.name, made.phones) == ("Wang Wei", ["01088889999", "13800000001"])
    for form in ("8613800000001", "+8613800000001", "13800000001"):
        found = await desk.by_number(BOB, form)
        assert found is not None and found.id == made.id
    assert await desk.by_number(ALICE, "13999999999") is None
    assert await desk.by_number(ALICE, "anonymous") is None

    with pytest.raises(FormError) as err:
        await desk.create(BOB, {"name": "", "phones": "12x"})
    assert set(err.value.errors) == {"name", "phones"}
    with pytest.raises(FormError) as err:
        await desk.create(BOB, {"name": "Other", "phones": ["13800000001"]})
    assert err.value.errors == {"phones": "A number belongs to another customer."}

    edited = await desk.update(SUPER, made.id, {"name": "Wang Wei", "company": "ACME Ltd",
                                                "phones": ["13800000001"]})
    assert (edited.company, edited.phones) == ("ACME Ltd", ["13800000001"])
    assert [c.id for c in (await desk.search(BOB, "acme")).customers] == [made.id]
    assert [c.id for c in (await desk.search(BOB, "0000 0001")).customers] == [made.id]
    with pytest.raises(NotFound):
        await desk.update(ALICE, 999, {"name": "x"})
    with pytest.raises(Forbidden):
        await desk.get(QA, made.id)
    actions = [e.action for e in await audit.entries(object=f"customer:{made.id}")]
    assert actions == ["customer_updated", "customer_created"]


async def test_notes_are_stored_on_the_right_call_and_only_by_its_agent(
        pool: asyncpg.Pool, settings: Settings, audit: AuditRepository) -> None:
    await CallRepository(pool).upsert_calls([call("c1", "agent1001"), call("c2", "agent1002")])
    customer = await CustomerDesk(pool, audit, "9").create(
        ALICE, {"name": "Wang Wei", "phones": "13800000001"})
    desk = NoteDesk(settings, pool, audit)
    note = await desk.save(ALICE, "pbx1", "c1", {"category": "repair", "content": "broken",
                                                 "result": "engineer sent"}, now=NOW)
    assert (note.linkedid, note.agent, note.customer_id) == ("c1", "agent1001", customer.id)
    again = await desk.save(ALICE, "pbx1", "c1", {"category": "repair", "content": "fixed",
                                                  "result": ""}, now=NOW)
    assert again.id == note.id and again.content == "fixed"
    assert [n.content for n in await desk.notes_of_call(SUPER, "pbx1", "c1")] == ["fixed"]

    with pytest.raises(Forbidden):
        await desk.save(ALICE, "pbx1", "c2", {"category": "other"}, now=NOW)
    with pytest.raises(Forbidden):
        await desk.notes_of_call(ALICE, "pbx1", "c2")
    with pytest.raises(Forbidden):
        await desk.save(SUPER, "pbx1", "c1", {"category": "other"}, now=NOW)
    with pytest.raises(NotFound):
        await desk.save(ALICE, "pbx1", "nope", {"category": "other"}, now=NOW)
    with pytest.raises(FormError) as err:
        await desk.save(ALICE, "pbx1", "c1", {"category": "gossip", "content": "x" * 5000,
                                              "follow_up_on": "2026-11-30"}, now=NOW)
    assert set(err.value.errors) == {"category", "content", "follow_up_on"}
    with pytest.raises(FormError):
        await desk.save(ALICE, "pbx1", "c1", {"category": "other", "customer_id": "77"},
                        now=NOW)
    assert len(await desk.notes_of_call(QA, "pbx1", "c1")) == 1


async def test_a_complaint_note_opens_a_complaint_with_a_deadline(
        pool: asyncpg.Pool, settings: Settings, audit: AuditRepository) -> None:
    await CallRepository(pool).upsert_calls([call("c1", "agent1001"), call("c2", "agent1002")])
    desk = NoteDesk(settings, pool, audit)
    earlier = NOW - timedelta(hours=50)
    await desk.save(ALICE, "pbx1", "c1", {"category": "complaint", "content": "rude"},
                    now=earlier)
    await desk.save(BOB, "pbx1", "c2", {"category": "complaint", "content": "late"}, now=NOW)
    await desk.save(ALICE, "pbx1", "c1", {"category": "complaint", "content": "rude!"},
                    now=NOW)  # an edit keeps the first deadline
    complaints = ComplaintDesk(settings, pool, OverdueWatch())
    every = await complaints.listing(SUPER, Listing())
    assert [(c.linkedid, c.status, c.agent, c.number) for c in every] == [
        ("c1", "registered", "agent1001", "13800000001"),
        ("c2", "registered", "agent1002", "13800000001")]
    assert every[0].due_at == earlier + timedelta(hours=48)
    assert [c.overdue(NOW) for c in every] == [True, False]
    assert [c.linkedid for c in await complaints.listing(BOB, Listing())] == ["c2"]
    assert [e.action for e in await complaints.repo.events(every[0].id)] == ["register"]
    assert [(e.actor, e.action) for e in await audit.entries(object=f"complaint:{every[0].id}")
            ] == [("alice", "complaint_register")]


async def test_calls_without_notes_are_listed_after_the_delay(
        pool: asyncpg.Pool, settings: Settings, audit: AuditRepository) -> None:
    calls = CallRepository(pool)
    await calls.upsert_calls([
        call("old", "agent1001", started=NOW - timedelta(hours=2)),
        call("noted", "agent1001", started=NOW - timedelta(hours=1)),
        call("fresh", "agent1001", started=NOW - timedelta(seconds=100), talk_s=10),
        call("bobs", "agent1002", started=NOW - timedelta(hours=1))])
    desk = NoteDesk(settings, pool, audit)
    await desk.save(ALICE, "pbx1", "noted", {"category": "other"}, now=NOW)
    assert [c["linkedid"] for c in await desk.due(ALICE, now=NOW)] == ["old"]
    assert [c["linkedid"] for c in await desk.due(BOB, now=NOW)] == ["bobs"]
    with pytest.raises(Forbidden):
        await desk.due(SUPER, now=NOW)


async def test_history_shows_previous_calls_with_notes_within_the_role(
        pool: asyncpg.Pool, settings: Settings, audit: AuditRepository) -> None:
    await CallRepository(pool).upsert_calls([
        call("a", "agent1001", "+8613800000001", started=NOW - timedelta(days=2)),
        call("b", "agent1002", "13800000001", started=NOW - timedelta(days=1)),
        call("out", "agent1001", "1001", direction="outbound", callee="913800000001"),
        call("other", "agent1001", "13999999999")])
    customers = CustomerDesk(pool, audit, "9")
    wang = await customers.create(ALICE, {"name": "Wang", "phones": "13800000001"})
    notes = NoteDesk(settings, pool, audit)
    await notes.save(ALICE, "pbx1", "a", {"category": "repair", "content": "mine",
                                          "result": "fixed"}, now=NOW)
    await notes.save(BOB, "pbx1", "b", {"category": "sales", "content": "bob's text",
                                        "result": "quote sent"}, now=NOW)
    pop = await customers.screen_pop(ALICE, "008613800000001", ringing=("pbx1", "out"))
    assert pop["customer"].id == wang.id
    assert [c["linkedid"] for c in pop["history"]] == ["b", "a"]
    pop = await customers.screen_pop(ALICE, "008613800000001")
    assert [c["linkedid"] for c in pop["history"]] == ["out", "b", "a"]
    seen = {c["linkedid"]: c["notes"] for c in pop["history"]}
    assert [(n["category"], n["result"], n["content"]) for n in seen["b"]] == [
        ("sales", "quote sent", None)]
    assert seen["a"][0]["content"] == "mine"
    full = await customers.history(SUPER, wang)
    assert {c["linkedid"]: c["notes"] for c in full}["b"][0]["content"] == "bob's text"
    unknown = await customers.screen_pop(ALICE, "13999999999")
    assert unknown["customer"] is None and [c["linkedid"] for c in unknown["history"]] == [
        "other"]


async def test_follow_ups_plan_list_close_and_click_to_call(
        pool: asyncpg.Pool, settings: Settings, audit: AuditRepository) -> None:
    calls = CallRepository(pool)
    await calls.upsert_calls([call("c1", "agent1001")])
    await NoteDesk(settings, pool, audit).save(
        ALICE, "pbx1", "c1", {"category": "repair", "result": "call back after repair",
                              "follow_up_on": "2026-12-03"}, now=NOW)
    port = FakePort()
    desk = FollowUpDesk(settings, pool, audit, Presence(settings.agent_panel, pool,
                                                        port, audit))  # type: ignore[arg-type]
    planned = await desk.listing(ALICE)
    assert [(f.number, f.due_on, f.purpose) for f in planned] == [
        ("13800000001", date(2026, 12, 3), "call back after repair")]
    extra = await desk.add(ALICE, {"number": "+86 139 0000 0002", "due_on": "2026-12-02",
                                   "purpose": "satisfaction"}, now=NOW)
    assert [f.id for f in await desk.listing(ALICE)] == [extra.id, planned[0].id]
    assert await desk.listing(BOB) == []
    assert await desk.due(ALICE, now=NOW) == []
    assert [f.id for f in await desk.due(ALICE, now=NOW + timedelta(days=1))] == [extra.id]
    assert [f.id for f in await desk.listing(SUPER, agent="agent1001")] == [extra.id,
                                                                          planned[0].id]
    with pytest.raises(FormError) as err:
        await desk.add(ALICE, {"number": "x", "due_on": "yesterday"}, now=NOW)
    assert set(err.value.errors) == {"number", "due_on"}
    with pytest.raises(NotFound):
        await desk.set_status(BOB, extra.id, "done")
    with pytest.raises(NotFound):
        await desk.call(BOB, extra.id)

    result = await desk.call(ALICE, extra.id)
    assert result.ok
    ((_, args),) = port.sent
    assert args[:5] == ("pbx1", "PJSIP/agent1001", "913900000002", "from-internal",
                        {"FOLLOWUP_ID": str(extra.id)})
    # the outbound call the Originate produced, logged by the tracker
    started = datetime.now(UTC) + timedelta(seconds=2)
    await calls.upsert_calls([
        call("o1", "agent1002", "1002", direction="outbound", callee="913900000002",
             started=started),
        call("o2", "agent1001", "1001", direction="outbound", callee="913900000002",
             started=started)])
    linked = (await desk.listing(ALICE))[0]
    assert [(c["ok"], c["linkedid"]) for c in linked.calls or []] == [(True, "o2")]
    done = await desk.set_status(ALICE, extra.id, "done")
    assert done.status == "done" and [f.id for f in await desk.listing(ALICE)] == [planned[0].id]
    with pytest.raises(Forbidden):
        await desk.call(ALICE, extra.id)
    with pytest.raises(FormError):
        await desk.set_status(ALICE, extra.id, "forgotten")
    assert dial_string("+442079460000", "9") == "900442079460000"


async def test_presence_needs_a_link_to_the_agents_pbx(
        pool: asyncpg.Pool, settings: Settings, audit: AuditRepository) -> None:
    none = Presence(settings.agent_panel, pool, None, audit)
    with pytest.raises(NoPbx):
        await none.pause(ALICE, True, "lunch")
    with pytest.raises(Forbidden):
        await none.pause(SUPER, True, "lunch")


async def test_the_agents_day(pool: asyncpg.Pool, settings: Settings) -> None:
    start, end = day_bounds(TODAY, AgentDay(pool, "Asia/Shanghai").tz)
    assert (start, end) == (datetime(2026, 11, 30, 16, tzinfo=UTC),
                            datetime(2026, 12, 1, 16, tzinfo=UTC))
    missed = call("m", "agent1002")
    missed.ring_attempts.insert(0, RingAttempt(
        agent="agent1001", interface="PJSIP/agent1001", started_at=NOW - timedelta(hours=2),
        ended_at=NOW - timedelta(hours=2) + timedelta(seconds=15), outcome="no_answer"))
    await CallRepository(pool).upsert_calls([
        call("t1", "agent1001", talk_s=60), call("t2", "agent1001", talk_s=30.5),
        call("y", "agent1001", started=start - timedelta(minutes=1)), missed])
    day = await AgentDay(pool, "Asia/Shanghai").summary(ALICE, now=NOW)
    assert (day["calls"], day["talk_s"], day["missed_rings"]) == (2, 90.5, 1)
    assert sorted(c["linkedid"] for c in day["call_list"]) == ["t1", "t2"]
    assert isinstance(day["qa"], list)
    with pytest.raises(Forbidden):
        await AgentDay(pool, "Asia/Shanghai").summary(QA)
