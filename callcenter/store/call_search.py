"""Read model of the supervisors' call search: filtered, sorted, keyset-paged call rows.

Only reads. A page is asked for with the last row's keyset (sort value, server,
linkedid) instead of an offset, so that paging stays fast deep into a result
and a call written meanwhile neither repeats nor hides a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

SORT_KEYS = {"started": "c.started_at", "wait": "coalesce(c.wait_s, -1)",
             "talk": "coalesce(c.talk_s, -1)"}
"""Sort keys and their SQL; an unknown wait/talk (NULL) sorts as -1 s, below every value."""
_OF_CALL = "server = c.server AND linkedid = c.linkedid"
_HAS = {
    "violation": f"EXISTS (SELECT 1 FROM violations WHERE {_OF_CALL})",
    "recording": f"EXISTS (SELECT 1 FROM recordings WHERE {_OF_CALL} AND status = 'ready')",
    "reviewed": f"EXISTS (SELECT 1 FROM qa_reviews WHERE {_OF_CALL} AND status = 'submitted')",
}
_COLUMNS = f"""c.server, c.linkedid, c.started_at, c.direction, c.caller, c.callee, c.queue,
    c.agent, c.disposition, c.wait_s, c.talk_s, c.hold_s,
    (SELECT count(*) FROM violations WHERE {_OF_CALL}) AS violations,
    (SELECT count(*) FROM recordings WHERE {_OF_CALL} AND status = 'ready') AS recordings,
    {_HAS["reviewed"]} AS reviewed,
    ARRAY(SELECT DISTINCT category FROM call_notes WHERE {_OF_CALL} ORDER BY 1) AS categories"""

Keyset = tuple[Any, str, str]
"""The last row of a page: (sort value, server, linkedid)."""


@dataclass(frozen=True)
class CallFilter:
    """What to search: ``start`` (inclusive) to ``end`` (exclusive, None: open), UTC.

    ``number`` is a LIKE pattern matched against caller and callee;
    ``disposition`` 'open' means a call not ended; the booleans are None for
    "either".
    """

    start: datetime
    end: datetime | None = None
    number: str | None = None
    agent: str | None = None
    queue: str | None = None
    direction: str | None = None
    disposition: str | None = None
    min_wait_s: float | None = None
    violation: bool | None = None
    recording: bool | None = None
    reviewed: bool | None = None
    note_category: str | None = None


@dataclass(frozen=True)
class Sort:
    """``key`` in SORT_KEYS, newest/longest first when ``descending``."""

    key: str = "started"
    descending: bool = True


@dataclass(frozen=True)
class CallRow:
    """One call of a result page; ``wait_s``/``talk_s``/``hold_s`` None when unknown."""

    server: str
    linkedid: str
    started_at: datetime
    direction: str
    caller: str | None
    callee: str | None
    queue: str | None
    agent: str | None
    disposition: str | None
    wait_s: float | None
    talk_s: float | None
    hold_s: float | None
    violations: int
    recordings: int
    reviewed: bool
    categories: list[str]
    keyset: Keyset


class Conditions:
    """SQL conditions joined by AND, with their numbered parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, sql: str, *values: Any) -> None:
        """Add ``sql`` whose ``{0}``, ``{1}``... are ``values`` (each may recur)."""
        marks = [f"${len(self.args) + i + 1}" for i in range(len(values))]
        self.args.extend(values)
        self.parts.append(sql.format(*marks))

    def flag(self, sql: str, wanted: bool | None) -> None:
        """Add ``sql`` when ``wanted`` is True, its negation when False."""
        if wanted is not None:
            self.parts.append(sql if wanted else f"NOT {sql}")

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "true"


def conditions(f: CallFilter) -> Conditions:
    """The WHERE conditions of ``f`` on ``calls c``."""
    w = Conditions()
    w.add("c.started_at >= {0}", f.start)
    if f.end is not None:
        w.add("c.started_at < {0}", f.end)
    if f.number:
        w.add("(c.caller LIKE {0} OR c.callee LIKE {0})", f.number)
    for column in ("agent", "queue", "direction"):
        value = getattr(f, column)
        if value:
            w.add(f"c.{column} = {{0}}", value)
    if f.disposition == "open":
        w.parts.append("c.disposition IS NULL")
    elif f.disposition:
        w.add("c.disposition = {0}", f.disposition)
    if f.min_wait_s is not None:
        w.add("c.wait_s > {0}", f.min_wait_s)
    for name, sql in _HAS.items():
        w.flag(sql, getattr(f, name))
    if f.note_category:
        w.add(f"EXISTS (SELECT 1 FROM call_notes WHERE {_OF_CALL} AND category = {{0}})",
              f.note_category)
    return w


def search_sql(f: CallFilter, sort: Sort, after: Keyset | None, limit: int
               ) -> tuple[str, list[Any]]:
    """The query of one page and its parameters."""
    key = SORT_KEYS[sort.key]
    w = conditions(f)
    if after is not None:
        w.add(f"({key}, c.server, c.linkedid) {'<' if sort.descending else '>'}"
              " ({0}, {1}, {2})", *after)
    order = "DESC" if sort.descending else "ASC"
    w.args.append(limit)
    sql = (f"SELECT {_COLUMNS}, {key} AS sort_value FROM calls c WHERE {w.sql}"
           f" ORDER BY {key} {order}, c.server {order}, c.linkedid {order}"
           f" LIMIT ${len(w.args)}")
    return sql, w.args


def _row(r: asyncpg.Record) -> CallRow:
    values = dict(r)
    key: Keyset = (values.pop("sort_value"), r["server"], r["linkedid"])
    return CallRow(**values, keyset=key)


async def search_calls(pool: asyncpg.Pool, f: CallFilter, sort: Sort = Sort(),
                       after: Keyset | None = None, limit: int = 50) -> list[CallRow]:
    """Up to ``limit`` calls matching ``f`` in ``sort`` order, after the keyset ``after``.

    Planned for its own values each time: how selective a number pattern or a time
    range is varies too much for one generic plan of the prepared statement.
    """
    sql, args = search_sql(f, sort, after, limit)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(sql, *args)
    return [_row(r) for r in rows]


async def search_choices(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """The values the filter form offers: agents, queues and note categories in use."""
    async with pool.acquire() as conn:
        agents = await conn.fetch("SELECT DISTINCT agent FROM agents ORDER BY 1")
        queues = await conn.fetch("SELECT DISTINCT name FROM queues ORDER BY 1")
        categories = await conn.fetch("SELECT DISTINCT category FROM call_notes ORDER BY 1")
    return {"agents": [r[0] for r in agents], "queues": [r[0] for r in queues],
            "categories": [r[0] for r in categories]}
