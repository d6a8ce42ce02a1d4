"""Follow-ups (回访): an agent's own and their queues' pools, recurring ones, reminders,
the overdue ones for supervisors, and click-to-call.

A follow-up is planned for the agent or into the pool of one of their queues, where
any member of that queue can take it (atomically: of two agents taking it at once
one gets it, the other is told who did). A recurring one (every N days) gets its
next occurrence when it is done. The panel's event stream reminds the agent when
one of theirs, or one in their queues' pools, falls due (:meth:`FollowUpDesk.reminders`).

Click-to-call sends AMI Originate: the agent's own phone rings first
(``Channel: PJSIP/agent1001``), and once they pick up Asterisk dials the
outside-line prefix + number in ``agent_panel.outbound_context``, so the call
is an ordinary outbound call of that agent, logged like any other. Each click
is kept (follow_up_calls) and linked to the call it produced: the agent's first
outbound call to that number starting around the click (see
``callcenter.store.followups.LINK_BEFORE/LINK_AFTER``). Matching on agent, number
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
from callcenter.agentpanel.access import MANAGERS, agent_of, require
from callcenter.agentpanel.day import local_date
from callcenter.agentpanel.forms import FormError, follow_up_form
from callcenter.agentpanel.presence import Presence
from callcenter.commands import CommandResult
from callcenter.refusals import Forbidden, NotFound
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.customers import CustomerRepository
from callcenter.store.followups import FollowUp, FollowUpRepository, NotMember, NotTaken

STATUSES = ("open", "done", "cancelled")


class TakeRefused(Exception):
    """A pool follow-up another agent took first: ``message`` (a msgid) and its params."""

    def __init__(self, message: str, **params: str) -> None:
        super().__init__(message)
        self.message, self.params = message, params


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
        self.repo = FollowUpRepository(pool, settings.web.timezone,
                                       settings.agent_panel.follow_up_time)
        self.customers = CustomerRepository(pool)
        self.audit = audit
        self.presence = presence

    async def listing(self, actor: Actor, open_only: bool = True,
                   agent: str | None = None) -> list[FollowUp]:
        """An agent's own follow-ups; a manager's (read-only) view of ``agent``'s."""
        if actor.role in MANAGERS:
            if not agent:
                raise FormError({"agent": "Name the agent, e.g. ?agent=agent1001."})
            return await self.repo.of_agent(agent, open_only=open_only)
        return await self.repo.of_agent(agent_of(actor), open_only=open_only)

    async def queues(self, actor: Actor) -> list[str]:
        """The queues of the agent (whose pools they see and plan into)."""
        return await self.repo.member_queues(agent_of(actor))

    async def pool(self, actor: Actor) -> list[FollowUp]:
        """The open follow-ups waiting in the pools of the agent's queues."""
        return await self.repo.pool_of(await self.queues(actor))

    async def due(self, actor: Actor, now: datetime | None = None) -> list[FollowUp]:
        """The agent's open follow-ups due today (centre's time zone) or earlier."""
        today = local_date(now or datetime.now(UTC), self.tz)
        return [f for f in await self.repo.of_agent(agent_of(actor)) if f.due_on <= today]

    async def add(self, actor: Actor, data: Mapping[str, Any],
                  now: datetime | None = None) -> FollowUp:
        """Plan a follow-up, the agent's own or into the pool of one of their queues; the
        customer is the owner of the number, when known."""
        agent = agent_of(actor)
        form = follow_up_form(data, local_date(now or datetime.now(UTC), self.tz))
        if form.queue is not None and form.queue not in await self.queues(actor):
            raise FormError({"queue": "Choose one of your queues."})
        customer = await self.customers.find_by_number(form.number)
        return await self.repo.create(
            agent=None if form.queue else agent, queue=form.queue, number=form.number,
            due_on=form.due_on, due_time=form.due_time, purpose=form.purpose,
            every_days=form.every_days, customer_id=customer.id if customer else None)

    async def take(self, actor: Actor, follow_up_id: int) -> FollowUp:
        """Take a follow-up from the pool of one of the agent's queues;
        :class:`TakeRefused` when a colleague took it first."""
        agent = agent_of(actor)
        try:
            follow_up = await self.repo.take(follow_up_id, agent)
        except NotTaken as exc:
            if exc.by is None:
                raise TakeRefused("This follow-up is no longer open.") from None
            raise TakeRefused("%(agent)s has already taken this follow-up.",
                              agent=exc.by) from None
        except NotMember:
            raise Forbidden("Only a member of its queue may take this follow-up.") from None
        await self.audit.record(actor.username, "follow_up_taken", f"follow_up:{follow_up_id}")
        return follow_up

    async def own(self, actor: Actor, follow_up_id: int) -> FollowUp:
        """The actor's follow-up (:class:`NotFound` when absent or someone else's)."""
        agent = agent_of(actor)
        follow_up = await self.repo.get(follow_up_id)
        if follow_up is None or follow_up.agent != agent:
            raise NotFound("No follow-up %(id)s.", id=follow_up_id)
        return follow_up

    async def set_status(self, actor: Actor, follow_up_id: int, status: str) -> FollowUp:
        """Mark the actor's follow-up done (a recurring one gets its next occurrence),
        cancelled or open."""
        await self.own(actor, follow_up_id)
        if status not in STATUSES:
            raise FormError({"status": "Choose open, done or cancelled."})
        updated = await self.repo.set_status(follow_up_id, status, actor.username)
        assert updated is not None
        return updated

    async def overdue(self, actor: Actor, now: datetime, agent: str | None = None,
                      queue: str | None = None) -> list[FollowUp]:
        """Supervisors' view: the open follow-ups past their due time, optionally of one
        agent (``""``: still in a pool) or queue."""
        require(actor, MANAGERS, "read overdue follow-ups")
        return await self.repo.overdue(now, agent=agent, queue=queue)

    async def until_next(self, actor: Actor, after: datetime, at_most: float) -> float:
        """Seconds from now until the next follow-up of the agent (or their queues' pools)
        falls due after ``after``, at most ``at_most`` (and not less than a tick)."""
        agent = agent_of(actor)
        due = await self.repo.next_due(agent, await self.repo.member_queues(agent), after)
        if due is None:
            return at_most
        return min(at_most, max((due - datetime.now(UTC)).total_seconds(), 0.05))

    async def reminders(self, actor: Actor, since: datetime, until: datetime
                        ) -> list[FollowUp]:
        """The agent's follow-ups and their queues' pool follow-ups falling due in
        (since, until]."""
        agent = agent_of(actor)
        return await self.repo.falling_due(agent, await self.repo.member_queues(agent),
                                           since, until)

    async def call(self, actor: Actor, follow_up_id: int) -> CommandResult:
        """Click-to-call: Originate from the agent's phone to the follow-up's number."""
        follow_up = await self.own(actor, follow_up_id)
        line_agent = agent_of(actor)
        if follow_up.status != "open":
            raise Forbidden("This follow-up is closed.")
        line = await self.presence.line(actor)
        commands = self.presence.commands
        assert commands is not None
        dialled = dial_string(follow_up.number, self.settings.outbound_prefix)
        action_id = f"followup-{follow_up_id}-{secrets.token_hex(4)}"
        result = await commands.originate(line.server, line.interface, dialled,
                                          self.settings.outbound_context,
                                          {"FOLLOWUP_ID": str(follow_up_id)}, action_id)
        await self.repo.add_call(
            follow_up_id, server=line.server, agent=line_agent, number=follow_up.number,
            dialled=dialled, action_id=action_id, ok=result.ok, message=result.message)
        await self.audit.record(actor.username, "click_to_call", f"follow_up:{follow_up_id}",
                                details={"server": line.server, "ok": result.ok,
                                         "message": result.message})
        return result
