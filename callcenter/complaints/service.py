"""The complaint desk: who may see which complaint, registering, and taking each step.

The steps' order and roles come from :mod:`callcenter.complaints.workflow`; the
fields each step needs are checked here (:class:`FormError`, 400 naming the
field); storing is :class:`callcenter.store.complaints.ComplaintRepository`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from callcenter.actors import Actor
from callcenter.complaints import workflow
from callcenter.complaints.forms import (
    VERDICT_SOURCES,
    call_key,
    choice,
    register_form,
    text,
)
from callcenter.complaints.overdue import OverdueWatch
from callcenter.formfields import FormError
from callcenter.numbers import try_normalise
from callcenter.settings import Settings
from callcenter.store.complaints import Complaint, ComplaintRepository, Listing, Registration

AGENT_MAX = 64


class NotFound(Exception):
    """No such complaint (or none the user may see)."""


class Forbidden(Exception):
    """The user's role does not allow this step (``TransitionError`` for why)."""


class Conflict(Exception):
    """The step does not fit the complaint's state (now, or since the page was read)."""


class ComplaintDesk:
    """Complaints for the web pages; keeps the wallboard's overdue watch current."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, watch: OverdueWatch) -> None:
        self.repo = ComplaintRepository(pool)
        self.reasons = settings.complaints.reasons
        self.response = timedelta(hours=settings.agent_panel.complaint_response_hours)
        self.watch = watch

    async def listing(self, actor: Actor, q: Listing) -> list[Complaint]:
        """The complaints ``actor`` may see that match ``q`` (an agent: their own)."""
        if actor.role == "agent":
            q = replace(q, visible_to=actor.agent or "-")
        return await self.repo.listing(q)

    async def get(self, actor: Actor, complaint_id: int) -> Complaint:
        """The complaint, when ``actor`` may see it; :class:`NotFound` otherwise."""
        found = await self.repo.get(complaint_id)
        if found is None or not self._visible(actor, found):
            raise NotFound("No such complaint.")
        return found

    @staticmethod
    def _visible(actor: Actor, k: Complaint) -> bool:
        if actor.role in workflow.MANAGERS:
            return True
        mine = actor.agent is not None and actor.agent in (k.agent, k.responsible_agent)
        return actor.role == "agent" and (mine or k.registered_by == actor.username)

    async def register(self, actor: Actor, data: Mapping[str, Any], *, remote: str = "",
                       now: datetime | None = None) -> Complaint:
        """A complaint registered by hand (reason of the configured list; a number, a
        customer or a call); due ``complaint_response_hours`` from ``now``."""
        try:
            workflow.step(None, "register", actor.role)
        except workflow.TransitionError as exc:
            raise Forbidden(exc) from None
        form = register_form(data, self.reasons)
        call = await self.repo.call_facts(*form.call) if form.call else None
        if form.call and call is None:
            raise FormError({"call": "No such call."})
        if form.customer_id and not await self.repo.customer_exists(form.customer_id):
            raise FormError({"customer_id": "No such customer."})
        due = (now or datetime.now(UTC)) + self.response
        facts = call or {}
        server, linkedid = form.call or (None, None)
        cid = await self.repo.register(Registration(
            due, form.reason, form.customer_id,
            number=form.number or try_normalise(facts.get("caller")), server=server,
            linkedid=linkedid, text=form.text,
            agent=facts.get("agent") or (actor.agent if actor.role == "agent" else None)),
            actor.username, remote=remote)
        assert cid is not None
        self.watch.set(cid, due)
        return await self.get(actor, cid)

    async def act(self, actor: Actor, complaint_id: int, action: str,
                  data: Mapping[str, Any], *, remote: str = "",
                  now: datetime | None = None) -> Complaint:
        """Take ``action`` on the complaint with the posted ``data``."""
        k = await self.get(actor, complaint_id)
        try:
            target = workflow.step(k.status, action, actor.role)  # type: ignore[arg-type]
        except workflow.TransitionError as exc:
            raise (Forbidden if exc.role_refused else Conflict)(exc) from None
        now = now or datetime.now(UTC)
        fields = await self._fields(k, action, data, now, actor.username)
        changes = {"status": target, **fields.pop("changes")}
        stepped = await self.repo.step(k, action, actor.username, changes=changes,
                                       remote=remote, **fields)
        if stepped is None:
            raise Conflict(workflow.TransitionError(
                "the complaint changed meanwhile: reload the page"))
        self.watch.set(stepped.id, stepped.due_at if stepped.status in workflow.PENDING
                       else None)
        return stepped

    async def _fields(self, k: Complaint, action: str, data: Mapping[str, Any],
                      now: datetime, actor: str) -> dict[str, Any]:
        """The columns and event fields of ``action``; FormError names a bad field."""
        errors: dict[str, str] = {}
        out: dict[str, Any] = {"changes": {}}
        if action == "investigate":
            out["text"] = text(data, "text", errors)
        elif action == "record":
            out.update(await self._record(data, errors))
        elif action == "answer":
            out["text"] = text(data, "response", errors, required=True)
            out["changes"] = {"response": out["text"], "answered_at": k.answered_at or now,
                              "answered_by": actor}
        elif action == "close":
            out["text"] = text(data, "text", errors, required=True)
            out["changes"] = {"closed_at": now}
        else:  # the customer's verdict
            out.update(await self._verdict(k, action, data, errors, now))
        if errors:
            raise FormError(errors)
        return out

    async def _record(self, data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        record = text(data, "investigation", errors)
        reason = choice(data, "reason", self.reasons, errors)
        responsible = str(data.get("responsible_agent") or "").strip() or None
        if responsible and len(responsible) > AGENT_MAX:
            errors["responsible_agent"] = "Too long."
        link = call_key(data, errors)
        if link and not await self.repo.call_facts(*link):
            errors["call"] = "No such call."
        if not (record or reason or responsible or link or errors):
            errors["investigation"] = REQUIRED_ONE
        changes = {k: v for k, v in (("investigation", record), ("reason", reason),
                                     ("responsible_agent", responsible)) if v}
        return {"text": record, "changes": changes, "link": link}

    async def _verdict(self, k: Complaint, action: str, data: Mapping[str, Any],
                       errors: dict[str, str], now: datetime) -> dict[str, Any]:
        source = choice(data, "verdict_source", VERDICT_SOURCES, errors, required=True)
        changes: dict[str, Any] = {"verdict": action, "verdict_source": source,
                                   "verdict_at": now}
        if action == "satisfied":
            changes["closed_at"] = now
        else:  # reopened: a new round, escalated to a supervisor, a new deadline
            target = choice(data, "escalated_to", await self.repo.supervisors(), errors)
            changes.update(round=k.round + 1, due_at=now + self.response, escalated_to=target,
                           closed_at=None)
        return {"text": text(data, "text", errors), "verdict": action, "changes": changes}


REQUIRED_ONE = "Write the investigation record, or give a reason, an agent or a call."
