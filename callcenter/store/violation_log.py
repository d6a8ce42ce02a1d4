"""Read model of the violations page: three-ring violations of a period, and their counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from callcenter.store.call_search import Conditions

Keyset = tuple[datetime, str, str, int]
"""The last violation of a page: (at, server, linkedid, idx)."""


@dataclass(frozen=True)
class ViolationFilter:
    """Violations at/after ``start`` and before ``end`` (UTC), of one agent / queue or all."""

    start: datetime
    end: datetime
    agent: str | None = None
    queue: str | None = None


def _conditions(f: ViolationFilter) -> Conditions:
    w = Conditions()
    w.add("v.at >= {0} AND v.at < {1}", f.start, f.end)
    if f.agent:
        w.add("v.agent = {0}", f.agent)
    if f.queue:
        w.add("v.queue = {0}", f.queue)
    return w


async def list_violations(pool: asyncpg.Pool, f: ViolationFilter, after: Keyset | None = None,
                          limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` violations of ``f``, newest first, after ``after``; each with its
    call's caller, callee, direction and disposition."""
    w = _conditions(f)
    if after is not None:
        w.add("(v.at, v.server, v.linkedid, v.idx) < ({0}, {1}, {2}, {3})", *after)
    w.args.append(limit)
    rows = await pool.fetch(
        "SELECT v.*, c.caller, c.callee, c.direction, c.disposition FROM violations v"
        " LEFT JOIN calls c ON c.server = v.server AND c.linkedid = v.linkedid"
        f" WHERE {w.sql} ORDER BY v.at DESC, v.server DESC, v.linkedid DESC, v.idx DESC"
        f" LIMIT ${len(w.args)}", *w.args)
    return [dict(r) for r in rows]


async def violation_counts(pool: asyncpg.Pool, f: ViolationFilter, tz: str
                           ) -> dict[str, list[tuple[str, int]]]:
    """Violations of ``f`` counted by ``day`` (in the centre's time zone ``tz``), by
    ``agent`` and by ``queue`` ('' for none); most first, days in order."""
    w = _conditions(f)
    w.args.append(tz)
    day = f"(v.at AT TIME ZONE ${len(w.args)})::date::text"
    rows = await pool.fetch(
        f"SELECT {day} AS day, v.agent, coalesce(v.queue, '') AS queue, count(*) AS n"
        f" FROM violations v WHERE {w.sql}"
        f" GROUP BY GROUPING SETS (({day}), (v.agent), (coalesce(v.queue, '')))", *w.args)
    out: dict[str, list[tuple[str, int]]] = {"day": [], "agent": [], "queue": []}
    for r in rows:
        kind = "day" if r["day"] is not None else "agent" if r["agent"] is not None else "queue"
        out[kind].append((r[kind], r["n"]))
    out["day"].sort()
    out["agent"].sort(key=lambda p: (-p[1], p[0]))
    out["queue"].sort(key=lambda p: (-p[1], p[0]))
    return out
