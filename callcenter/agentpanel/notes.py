"""Call notes (the inbound / outbound record sheets); a complaint note registers a complaint
(its workflow: :mod:`callcenter.complaints`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from callcenter.actors import Actor
from callcenter.agentpanel.access import agent_of, call_agents, may_read_call
from callcenter.agentpanel.day import local_date
from callcenter.agentpanel.forms import FormError, note_form
from callcenter.calls.model import CallRecord
from callcenter.numbers import try_normalise
from callcenter.refusals import Forbidden, NotFound
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.calls import CallRepository
from callcenter.store.complaints import Registration
from callcenter.store.customers import CustomerRepository
from callcenter.store.notes import CallNote, NoteRepository

NOTES_DUE_WINDOW = timedelta(days=7)
"""How far back calls without notes are listed."""


def customer_number(call: CallRecord, outbound_prefix: str) -> str | None:
    """The customer's number on ``call`` (normalised): the caller of an inbound call, the
    number dialled (without the outside-line prefix) of an outbound one."""
    if call.direction == "outbound":
        callee = call.callee or ""
        if outbound_prefix and callee.startswith(outbound_prefix):
            callee = callee[len(outbound_prefix):]
        return try_normalise(callee)
    return try_normalise(call.caller)


class NoteDesk:
    """Writing and reading call notes."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, audit: AuditRepository) -> None:
        self.settings = settings.agent_panel
        self.tz = ZoneInfo(settings.web.timezone)
        self.calls = CallRepository(pool)
        self.notes = NoteRepository(pool)
        self.customers = CustomerRepository(pool)
        self.audit = audit

    async def call(self, actor: Actor, server: str, linkedid: str) -> CallRecord:
        """The call, when ``actor`` may see it (:class:`NotFound` / :class:`Forbidden`)."""
        call = await self.calls.get_call(server, linkedid)
        if call is None:
            raise NotFound("No call %(call)s.", call=f"{server}/{linkedid}")
        if not may_read_call(actor, call):
            raise Forbidden("This call is not yours.")
        return call

    async def notes_of_call(self, actor: Actor, server: str, linkedid: str) -> list[CallNote]:
        """The notes of a call ``actor`` may see."""
        await self.call(actor, server, linkedid)
        return (await self.notes.notes_for_calls([(server, linkedid)])).get((server, linkedid),
                                                                          [])

    async def save(self, actor: Actor, server: str, linkedid: str, data: Mapping[str, Any],
                   now: datetime | None = None) -> CallNote:
        """Write ``actor``'s note on their call (also after it ended: wrap-up).

        The customer is the one given (``customer_id``) or the owner of the call's
        number; a complaint category opens a complaint due in
        ``complaint_response_hours``; a follow-up date plans a follow-up.
        """
        agent = agent_of(actor)
        now = now or datetime.now(UTC)
        call = await self.call(actor, server, linkedid)
        if agent not in call_agents(call):
            raise Forbidden("This call is not yours.")
        form = note_form(data, self.settings.note_categories, local_date(now, self.tz))
        number = customer_number(call, self.settings.outbound_prefix)
        customer_id = await self._customer_id(data.get("customer_id"), number)
        complaint = Registration(
            now + timedelta(hours=self.settings.complaint_response_hours),
            customer_id=customer_id, number=number, server=server, linkedid=linkedid,
            agent=agent, text=form.content)
        note = await self.notes.save_note(
            server, linkedid, agent, category=form.category, content=form.content,
            result=form.result, follow_up_on=form.follow_up_on, customer_id=customer_id,
            complaint=complaint if form.category == self.settings.complaint_category else None,
            actor=actor.username, follow_up_number=number)
        await self.audit.record(actor.username, "call_note_saved", f"call:{server}/{linkedid}",
                                details={"category": form.category})
        return note

    async def _customer_id(self, given: Any, number: str | None) -> int | None:
        if given not in (None, ""):
            try:
                customer = await self.customers.get(int(str(given)))
            except (ValueError, OverflowError):
                customer = None
            if customer is None:
                raise FormError({"customer_id": "No such customer."})
            return customer.id
        found = await self.customers.find_by_number(number) if number else None
        return found.id if found else None

    async def due(self, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
        """``actor``'s answered calls of the last 7 days still without a note
        ``notes_due_after_s`` after they ended, oldest first."""
        agent = agent_of(actor)
        now = now or datetime.now(UTC)
        return await self.notes.calls_without_notes(
            agent, now - timedelta(seconds=self.settings.notes_due_after_s),
            now - NOTES_DUE_WINDOW)
