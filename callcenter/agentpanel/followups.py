"""Follow-ups (回访): the agent's planned callbacks, and click-to-call.

Click-to-call sends AMI Originate: the agent's own phone rings first
(``Channel: PJSIP/agent1001``), and once they pick up Asterisk dials the
outside-line prefix + number in ``agent_panel.outbound_context``, so the call
is an ordinary outbound call of that agent, logged like any other. Each click
is kept (follow_up_calls) and linked to the call it produced: the agent's first
outbound call to that number starting around the click (see
``callcenter.store.notes.LINK_BEFORE/LINK_AFTER``). Matching on agent, number
and time needs nothing from the dialplan and survives ``callcenter rebuild``;
the Originate also sets the channel variable ``FOLLOWUP_ID`` for a dialplan or
CDR that wants to carry it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from callcenter.actors import Actor
from callcenter.agentpanel.access import MANAGERS, Forbidden, NotFound, agent_of
from callcenter.agentpanel.day import local_date
from callcenter.agentpanel.forms import FormError, follow_up_form
from callcenter.agentpanel.presence import Presence
from callcenter.commands import CommandResult
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.customers import CustomerRepository
from callcenter.store.notes import FollowUp, NoteRepository

STATUSES = ("open", "done", "cancelled")


def dial_string(number: str, prefix: str) -> str:
    """What the agent's phone dials for ``number`` (normalised): prefix + domestic digits,
    or prefix + 00 + the international number."""
    return prefix + ("00" + number[1:] if number.startswith("+") else number)


class FollowUpDesk:
    """Listing, planning, closing and calling follow-ups."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, audit: AuditRepository,
                 presence: Presence) -> None:
        self.settings = settings.agent_panel
        self.tz = ZoneInfo(settings.web.timezone)
        self.notes = NoteRepository(pool)
        self.customers = CustomerRepository(pool)
        self.audit = audit
        self.presence = presence

    async def listing(self, actor: Actor, open_only: bool = True,
                   agent: str | None = None) -> list[FollowUp]:
        """An agent's own follow-ups; a manager's (read-only) view of ``agent``'s."""
        if actor.role in MANAGERS:
            if not agent:
                raise FormError({"agent": "Name the agent, e.g. ?agent=agent1001."})
            return await self.notes.follow_ups(agent, open_only=open_only)
        return await self.notes.follow_ups(agent_of(actor), open_only=open_only)

    async def due(self, actor: Actor, now: datetime | None = None) -> list[FollowUp]:
        """The agent's open follow-ups due today (centre's time zone) or earlier."""
        today = local_date(now or datetime.now(UTC), self.tz)
        return [f for f in await self.notes.follow_ups(agent_of(actor)) if f.due_on <= today]

    async def add(self, actor: Actor, data: Mapping[str, Any],
                  now: datetime | None = None) -> FollowUp:
        """Plan a follow-up; the customer is the owner of the number, when known."""
        agent = agent_of(actor)
        form = follow_up_form(data, local_date(now or datetime.now(UTC), self.tz))
        customer = await self.customers.find_by_number(form.number)
        return await self.notes.create_follow_up(agent, form.number, form.due_on, form.purpose,
                                                 customer.id if customer else None)

    async def own(self, actor: Actor, follow_up_id: int) -> FollowUp:
        """The actor's follow-up (:class:`NotFound` when absent or someone else's)."""
        agent = agent_of(actor)
        follow_up = await self.notes.follow_up(follow_up_id)
        if follow_up is None or follow_up.agent != agent:
            raise NotFound(f"no follow-up {follow_up_id}")
        return follow_up

    async def set_status(self, actor: Actor, follow_up_id: int, status: str) -> FollowUp:
        """Mark the actor's follow-up done, cancelled or open."""
        await self.own(actor, follow_up_id)
        if status not in STATUSES:
            raise FormError({"status": "Choose open, done or cancelled."})
        updated = await self.notes.set_follow_up_status(follow_up_id, status)
        assert updated is not None
        return updated

    async def call(self, actor: Actor, follow_up_id: int) -> CommandResult:
        """Click-to-call: Originate from the agent's phone to the follow-up's number."""
        follow_up = await self.own(actor, follow_up_id)
        if follow_up.status != "open":
            raise Forbidden("this follow-up is closed")
        line = await self.presence.line(actor)
        commands = self.presence.commands
        assert commands is not None
        dialled = dial_string(follow_up.number, self.settings.outbound_prefix)
        action_id = f"followup-{follow_up_id}-{secrets.token_hex(4)}"
        result = await commands.originate(line.server, line.interface, dialled,
                                          self.settings.outbound_context,
                                          {"FOLLOWUP_ID": str(follow_up_id)}, action_id)
        await self.notes.add_follow_up_call(
            follow_up_id, server=line.server, agent=follow_up.agent, number=follow_up.number,
            dialled=dialled, action_id=action_id, ok=result.ok, message=result.message)
        await self.audit.record(actor.username, "click_to_call", f"follow_up:{follow_up_id}",
                                details={"server": line.server, "ok": result.ok,
                                         "message": result.message})
        return result
