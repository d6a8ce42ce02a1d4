"""Hostile input to the agent panel's forms (customers, call notes, follow-ups, the
customer profile): huge strings, wrong types, NUL bytes, missing fields. Each is refused
naming its field (a 400 on the pages), never a crash; every message is a msgid with its
Chinese."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from callcenter.agentpanel.forms import FormError, customer_form, follow_up_form, note_form
from callcenter.agentpanel.profile import Profile
from callcenter.formfields import INVALID, MESSAGES
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.i18n import Catalogues
from callcenter.web.testing import web_client
from tests.support.agent_panel import call, settings

__all__ = ["settings"]  # the fixture

TODAY = date(2026, 12, 1)
HUGE = "x" * 200_000
NUL = "ab\x00cd"
WRONG_TYPES: list[Any] = [{"a": 1}, ["x", "y"], True, b"bytes"]
CUSTOMER = {"name": "Wang", "phones": "13800000001"}
NOTE = {"category": "repair", "content": "broken"}
FOLLOW_UP = {"number": "13800000001", "due_on": "2026-12-02"}


def errors(check: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FormError) as err:
        check(data)
    return err.value.errors


def customer(data: dict[str, Any]) -> Any:
    return customer_form(data)


def note(data: dict[str, Any]) -> Any:
    return note_form(data, ["repair", "other"], TODAY)


def follow_up(data: dict[str, Any]) -> Any:
    return follow_up_form(data, TODAY)


FORMS = [(customer, CUSTOMER, ["name", "company", "notes", "phones"]),
         (note, NOTE, ["category", "content", "result", "follow_up_on"]),
         (follow_up, FOLLOW_UP, ["number", "due_on", "purpose", "due_time", "every_days",
                                 "queue"])]
CASES = [(check, good, field, value) for check, good, fields in FORMS for field in fields
         for value in [HUGE, NUL, *WRONG_TYPES]
         if not (field == "phones" and value == ["x", "y"])]


@pytest.mark.parametrize(("check", "good", "field", "value"), CASES)
def test_a_hostile_value_is_refused_naming_its_field(check: Any, good: dict[str, Any],
                                                     field: str, value: Any) -> None:
    check(good)  # the good form passes
    if field == "queue" and isinstance(value, str) and value == HUGE:
        return  # a long queue name is checked against the agent's queues (the desk)
    assert set(errors(check, {**good, field: value})) == {field}


def test_a_list_of_bad_numbers_names_phones() -> None:
    assert errors(customer, {**CUSTOMER, "phones": ["x", "y"]}) == {
        "phones": "Not a phone number."}
    assert errors(customer, {**CUSTOMER, "phones": [str(13800000000 + n) for n in range(11)]}
                  ) == {"phones": "Too many phone numbers."}


def test_missing_required_fields_are_named() -> None:
    assert errors(customer, {}) == {"name": "This field is required."}
    assert set(errors(note, {})) == {"category"}
    assert errors(follow_up, {}) == {"number": "Not a phone number.",
                                     "due_on": "This field is required."}


def test_good_values_are_typed_and_clean() -> None:
    made = customer({"name": " Wang ", "phones": ["+86 138 0000 0001", "13800000001", 10086]})
    assert (made.name, made.phones) == ("Wang", ["13800000001", "10086"])
    plan = follow_up({**FOLLOW_UP, "due_time": "15:30", "every_days": 7, "queue": " support "})
    assert (plan.due_on, plan.every_days, plan.queue) == (date(2026, 12, 2), 7, "support")
    assert note({**NOTE, "content": "line one\nline\ttwo"}).content == "line one\nline\ttwo"


@pytest.mark.parametrize("value", [NUL, HUGE, {"a": 1}, True])
def test_the_profile_refuses_hostile_text(value: Any) -> None:
    profile = Profile(Settings().customers.fields)
    with pytest.raises(FormError) as err:
        profile.validate({"occupation": value, "age": "9" * 5000})
    assert set(err.value.errors) == {"profile.occupation", "profile.age"}


def test_every_form_message_has_its_chinese() -> None:
    _ = Catalogues().gettext("zh")
    messages = {*MESSAGES.values(), INVALID, "Not a phone number.", "Too many phone numbers.",
                "The date is in the past.", "Not a time of day (HH:MM).",
                "Repeat every 1 to 365 days, or leave it empty.",
                "Choose a category from the list."}
    assert {m for m in messages if _(m) == m} == set()


POSTS = [("/agent/customers/new", CUSTOMER, ["name", "company", "notes", "phones"]),
         ("/agent/calls/pbx1/c1", NOTE, ["category", "content", "result", "follow_up_on"]),
         ("/agent/follow-ups", FOLLOW_UP, ["number", "due_on", "purpose", "due_time",
                                           "every_days"])]
"""(page, a good post, its fields); the queue list is shown to agents of a queue only."""


async def test_hostile_posts_get_a_400_naming_the_field(pool: asyncpg.Pool,
                                                        settings: Settings) -> None:
    await CallRepository(pool).upsert_calls([
        call("c1", "agent1001", started=datetime.now(UTC) - timedelta(hours=1))])
    async with web_client(settings, pool, role="agent") as client:
        for path, good, fields in POSTS:
            for field in fields:
                for value in (NUL, HUGE[:100_000]):
                    resp = await client.post(path, data={
                        "csrf_token": client.csrf, **good, field: value})
                    assert resp.status == 400, (path, field)
                    assert f'data-error="{field}"' in await resp.text(), (path, field)
        profile = await client.post("/agent/customers/new", data={
            "csrf_token": client.csrf, **CUSTOMER, "profile.occupation": NUL})
        assert profile.status == 400
    assert await pool.fetchval("SELECT count(*) FROM customers") == 0
    assert await pool.fetchval("SELECT count(*) FROM call_notes") == 0
