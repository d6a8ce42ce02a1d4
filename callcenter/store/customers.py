"""Customers and their phone numbers (numbers stored normalised, one customer each)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

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


_SELECT = """SELECT c.*, coalesce(array_agg(p.number ORDER BY p.number)
    FILTER (WHERE p.number IS NOT NULL), '{}') AS phones
FROM customers c LEFT JOIN customer_phones p ON p.customer_id = c.id"""


def _customer(row: asyncpg.Record) -> Customer:
    return Customer(row["id"], row["name"], row["company"], row["notes"], list(row["phones"]),
                    row["created_by"], row["updated_by"], row["created_at"], row["updated_at"])


class CustomerRepository:
    """Creates, edits and finds customers; a number never belongs to two customers."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, *, name: str, company: str, notes: str, phones: Sequence[str],
                     actor: str) -> Customer:
        """A new customer with ``phones`` (normalised); raises :class:`PhoneTaken`."""
        async with self.pool.acquire() as conn, conn.transaction():
            cid = await conn.fetchval(
                "INSERT INTO customers (name, company, notes, created_by, updated_by)"
                " VALUES ($1, $2, $3, $4, $4) RETURNING id", name, company, notes, actor)
            await self._set_phones(conn, cid, phones)
        customer = await self.get(cid)
        assert customer is not None
        return customer

    async def update(self, customer_id: int, *, name: str, company: str, notes: str,
                     phones: Sequence[str], actor: str) -> Customer | None:
        """Replace the customer's fields and numbers; None when there is no such customer."""
        async with self.pool.acquire() as conn, conn.transaction():
            found = await conn.fetchval(
                "UPDATE customers SET name = $2, company = $3, notes = $4, updated_by = $5,"
                " updated_at = now() WHERE id = $1 RETURNING id",
                customer_id, name, company, notes, actor)
            if found is None:
                return None
            await conn.execute("DELETE FROM customer_phones WHERE customer_id = $1", customer_id)
            await self._set_phones(conn, customer_id, phones)
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

    async def search(self, text: str, limit: int = 50) -> list[Customer]:
        """Customers whose name or company contains ``text``, or whose number contains its
        digits; by name."""
        digits = "".join(ch for ch in text if ch.isdigit())
        rows = await self.pool.fetch(
            f"{_SELECT} WHERE c.name ILIKE $1 OR c.company ILIKE $1 OR ($2 <> '' AND EXISTS"
            " (SELECT 1 FROM customer_phones q WHERE q.customer_id = c.id"
            " AND q.number LIKE '%' || $2 || '%'))"
            " GROUP BY c.id ORDER BY lower(c.name), c.id LIMIT $3",
            f"%{_escape_like(text)}%", digits, limit)
        return [_customer(r) for r in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
