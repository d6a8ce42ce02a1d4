"""Customers and their phone numbers (numbers stored normalised, one customer each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg


class PhoneTaken(Exception):
    """A number already belongs to another customer."""

    def __init__(self, number: str, customer_id: int) -> None:
        super().__init__(f"{number} already belongs to customer {customer_id}")
        self.number, self.customer_id = number, customer_id


@dataclass
class Customer:
    """A customer record; ``phones`` are normalised numbers; times UTC."""

    id: int
    name: str
    company: str = ""
    notes: str = ""
    phones: list[str] = field(default_factory=list)
    created_by: str = ""
    updated_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    key_account: bool = False
    tier: str | None = None


@dataclass(frozen=True)
class CustomerEdit:
    """The fields of a customer an edit replaces (numbers normalised); ``key_account``
    and ``tier`` None: keep the stored ones."""

    name: str
    company: str
    notes: str
    phones: Sequence[str]
    profile: Mapping[str, Any] = field(default_factory=dict)
    key_account: bool | None = None
    tier: str | None = None


SORTS = {
    "name": "lower(c.name), c.id",
    "company": "lower(c.company), lower(c.name), c.id",
    "updated": "c.updated_at DESC, c.id DESC",
    "key": "c.key_account DESC, lower(c.name), c.id",
}
"""The orders of the customer list (each ends with the id: a stable page order)."""
Sort = Literal["name", "company", "updated", "key"]


@dataclass
class CustomerPage:
    """One page of the customer list; ``total``: how many match."""

    customers: list[Customer]
    total: int
    offset: int
    limit: int


_SELECT = """SELECT c.*, coalesce(array_agg(p.number ORDER BY p.number)
    FILTER (WHERE p.number IS NOT NULL), '{}') AS phones
FROM customers c LEFT JOIN customer_phones p ON p.customer_id = c.id"""


def _customer(row: asyncpg.Record) -> Customer:
    return Customer(row["id"], row["name"], row["company"], row["notes"], list(row["phones"]),
                    row["created_by"], row["updated_by"], row["created_at"], row["updated_at"],
                    dict(row["profile"]), row["key_account"], row["tier"])


class CustomerRepository:
    """Creates, edits and finds customers; a number never belongs to two customers."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, edit: CustomerEdit, actor: str) -> Customer:
        """A new customer with its numbers; raises :class:`PhoneTaken`."""
        async with self.pool.acquire() as conn, conn.transaction():
            cid = await conn.fetchval(
                "INSERT INTO customers (name, company, notes, profile, key_account, tier,"
                " created_by, updated_by) VALUES ($1, $2, $3, $4, coalesce($5, false), $6,"
                " $7, $7) RETURNING id", edit.name, edit.company, edit.notes,
                dict(edit.profile), edit.key_account, edit.tier, actor)
            await self._set_phones(conn, cid, edit.phones)
        customer = await self.get(cid)
        assert customer is not None
        return customer

    async def update(self, customer_id: int, edit: CustomerEdit,
                     actor: str) -> Customer | None:
        """Replace the customer's fields and numbers; None when there is no such customer."""
        async with self.pool.acquire() as conn, conn.transaction():
            found = await conn.fetchval(
                "UPDATE customers SET name = $2, company = $3, notes = $4, profile = $5,"
                " key_account = coalesce($6, key_account),"
                " tier = CASE WHEN $6::boolean IS NULL THEN tier ELSE $7 END,"
                " updated_by = $8, updated_at = now() WHERE id = $1 RETURNING id",
                customer_id, edit.name, edit.company, edit.notes, dict(edit.profile),
                edit.key_account, edit.tier, actor)
            if found is None:
                return None
            await conn.execute("DELETE FROM customer_phones WHERE customer_id = $1", customer_id)
            await self._set_phones(conn, customer_id, edit.phones)
        return await self.get(customer_id)

    @staticmethod
    async def _set_phones(conn: asyncpg.Connection, customer_id: int,
                          phones: Sequence[str]) -> None:
        for number in dict.fromkeys(phones):
            owner = await conn.fetchval(
                "INSERT INTO customer_phones (number, customer_id) VALUES ($1, $2)"
                " ON CONFLICT (number) DO NOTHING RETURNING customer_id", number, customer_id)
            if owner is None:
                other = await conn.fetchval(
                    "SELECT customer_id FROM customer_phones WHERE number = $1", number)
                raise PhoneTaken(number, other)

    async def get(self, customer_id: int) -> Customer | None:
        """One customer, or None."""
        row = await self.pool.fetchrow(f"{_SELECT} WHERE c.id = $1 GROUP BY c.id", customer_id)
        return _customer(row) if row else None

    async def find_by_number(self, number: str) -> Customer | None:
        """The customer owning ``number`` (normalised), or None."""
        row = await self.pool.fetchrow(
            f"{_SELECT} WHERE c.id = (SELECT customer_id FROM customer_phones WHERE number = $1)"
            " GROUP BY c.id", number)
        return _customer(row) if row else None

    async def search(self, text: str, *, sort: Sort = "name", offset: int = 0,
                     limit: int = 50) -> CustomerPage:
        """Customers whose name or company contains ``text``, or whose number contains its
        digits (all customers for an empty ``text``), in ``sort`` order, one page."""
        digits = "".join(ch for ch in text if ch.isdigit())
        where = ("WHERE c.name ILIKE $1 OR c.company ILIKE $1 OR ($2 <> '' AND EXISTS"
                 " (SELECT 1 FROM customer_phones q WHERE q.customer_id = c.id"
                 " AND q.number LIKE '%' || $2 || '%'))")
        pattern = f"%{_escape_like(text)}%"
        async with self.pool.acquire() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM customers c {where}",
                                        pattern, digits)
            rows = await conn.fetch(
                f"{_SELECT} {where} GROUP BY c.id ORDER BY {SORTS[sort]} OFFSET $3 LIMIT $4",
                pattern, digits, offset, limit)
        return CustomerPage([_customer(r) for r in rows], total, offset, limit)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
