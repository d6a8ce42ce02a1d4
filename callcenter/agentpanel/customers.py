"""Customers from the panel: create, edit, find by caller number, and their call history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import asyncpg

from callcenter.actors import Actor
from callcenter.agentpanel.access import CUSTOMER_ROLES, MANAGERS, require
from callcenter.agentpanel.forms import FormError, customer_form
from callcenter.agentpanel.profile import Profile
from callcenter.numbers import caller_id_forms, try_normalise
from callcenter.refusals import NotFound
from callcenter.settings import CustomerSettings
from callcenter.store.audit import AuditRepository
from callcenter.store.customers import (
    SORTS,
    Customer,
    CustomerEdit,
    CustomerPage,
    CustomerRepository,
    PhoneTaken,
)
from callcenter.store.notes import NoteRepository

TAKEN = "A number belongs to another customer."
PAGE_SIZE = 25


class CustomerDesk:
    """Customer records and history, with the role checks of :mod:`access`."""

    def __init__(self, pool: asyncpg.Pool, audit: AuditRepository, outbound_prefix: str,
                 settings: CustomerSettings | None = None) -> None:
        self.customers = CustomerRepository(pool)
        self.notes = NoteRepository(pool)
        self.audit = audit
        self.outbound_prefix = outbound_prefix
        self.settings = settings or CustomerSettings()
        self.profile = Profile(self.settings.fields)

    def edit(self, actor: Actor, data: Mapping[str, Any]) -> CustomerEdit:
        """Form ``data`` checked: the record, the profile and (supervisors and admins
        only; anyone else's keep the stored ones) the key-account flag and tier;
        :class:`FormError` naming every bad field."""
        errors: dict[str, str] = {}
        try:
            form = customer_form(data)
        except FormError as exc:
            errors.update(exc.errors)
        try:
            profile = self.profile.validate(self.profile.read(data))
        except FormError as exc:
            errors.update(exc.errors)
        key_account, tier = None, None
        if actor.role in MANAGERS:
            key_account = str(data.get("key_account") or "") in ("1", "on", "true")
            tier = str(data.get("tier") or "").strip() or None
            if tier is not None and (tier not in self.settings.tiers or not key_account):
                errors["tier"] = "Choose a tier from the list, for a key account only."
        if errors:
            raise FormError(errors)
        return CustomerEdit(form.name, form.company, form.notes, form.phones, profile,
                            key_account, tier)

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> Customer:
        """A new customer from form ``data``; :class:`FormError` on bad input or a number
        that belongs to another customer."""
        require(actor, CUSTOMER_ROLES, "create customers")
        edit = self.edit(actor, data)
        try:
            customer = await self.customers.create(edit, actor.username)
        except PhoneTaken as exc:
            raise FormError({"phones": TAKEN}) from exc
        await self.audit.record(actor.username, "customer_created", f"customer:{customer.id}")
        return customer

    async def update(self, actor: Actor, customer_id: int, data: Mapping[str, Any]) -> Customer:
        """Replace the customer's fields from form ``data``."""
        require(actor, CUSTOMER_ROLES, "edit customers")
        edit = self.edit(actor, data)
        try:
            customer = await self.customers.update(customer_id, edit, actor.username)
        except PhoneTaken as exc:
            raise FormError({"phones": TAKEN}) from exc
        if customer is None:
            raise NotFound("No customer %(id)s.", id=customer_id)
        await self.audit.record(actor.username, "customer_updated", f"customer:{customer_id}")
        return customer

    async def get(self, actor: Actor, customer_id: int) -> Customer:
        """One customer; :class:`NotFound` when there is none."""
        require(actor, CUSTOMER_ROLES, "read customers")
        customer = await self.customers.get(customer_id)
        if customer is None:
            raise NotFound("No customer %(id)s.", id=customer_id)
        return customer

    async def search(self, actor: Actor, text: str, sort: str = "name",
                     page: int = 1) -> CustomerPage:
        """One page (``PAGE_SIZE``) of the customers matching ``text`` (name, company, part
        of a number; all when empty), in ``sort`` order (by name when unknown)."""
        require(actor, CUSTOMER_ROLES, "search customers")
        order = sort if sort in SORTS else "name"
        offset = (max(page, 1) - 1) * PAGE_SIZE
        return await self.customers.search(text.strip()[:100], sort=order,  # type: ignore[arg-type]
                                           offset=offset, limit=PAGE_SIZE)

    async def by_number(self, actor: Actor, number: str | None) -> Customer | None:
        """The customer a caller ID (any form) belongs to, or None."""
        require(actor, CUSTOMER_ROLES, "read customers")
        normalised = try_normalise(number)
        return await self.customers.find_by_number(normalised) if normalised else None

    async def history(self, actor: Actor, customer: Customer | None,
                      number: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Previous calls with the customer (any of its numbers, or ``number`` alone), newest
        first, with notes; an agent sees the text of their own notes only."""
        require(actor, CUSTOMER_ROLES, "read customer history")
        numbers = list(customer.phones) if customer else []
        extra = try_normalise(number)
        if extra and extra not in numbers:
            numbers.append(extra)
        forms = sorted({f for n in numbers for f in caller_id_forms(n)})
        dialled = forms + [self.outbound_prefix + f for f in forms]
        calls = await self.notes.history(forms, dialled, customer.id if customer else None,
                                         limit)
        for call in calls:
            call["notes"] = [_visible(actor, n) for n in call["notes"]]
        return calls

    async def screen_pop(self, actor: Actor, caller: str | None,
                         ringing: tuple[str, str] | None = None) -> dict[str, Any]:
        """What the panel shows when the phone rings: the customer and their previous calls
        (``ringing``, the (server, linkedid) of the call ringing now, left out)."""
        customer = await self.by_number(actor, caller)
        history = await self.history(actor, customer, caller, 11)
        previous = [c for c in history if (c["server"], c["linkedid"]) != ringing]
        return {"customer": customer, "history": previous[:10]}


def _visible(actor: Actor, note: Any) -> dict[str, Any]:
    """A note as ``actor`` may see it: an agent does not read colleagues' note text."""
    out = asdict(note)
    if actor.role == "agent" and note.agent != actor.agent:
        out["content"] = None
    return out
