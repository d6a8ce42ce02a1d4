"""Per-day rollups of the report figures (tables of migrations/006_reports.sql).

A local day that is over is summed once with the raw-row SQL of
:mod:`callcenter.store.report_reads` (ended calls only) and kept as JSON sums; a
report of a month then reads about 3,000 hour rows instead of every call.
Triggers record the hours that calls and agent states touch; :func:`refresh`
first deletes the rolled-up days those hours overlap, then builds the missing
days of the period asked for (under an advisory lock, in one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

import asyncpg

from callcenter.kpis import AgentFigures, CallFigures, ServiceLevelRules, local_midnight
from callcenter.store import report_reads as sql

LOCK = 717273
K = TypeVar("K")
F = TypeVar("F", CallFigures, AgentFigures)

STATE = """INSERT INTO report_rollup_state (tz, service_level_s, short_abandon_s)
VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET tz = EXCLUDED.tz,
    service_level_s = EXCLUDED.service_level_s, short_abandon_s = EXCLUDED.short_abandon_s"""

INVALIDATE = """
WITH d AS (DELETE FROM report_dirty RETURNING from_at, to_at)
DELETE FROM report_days r USING d
WHERE r.day >= (d.from_at AT TIME ZONE $1::text)::date
  AND r.day <= (d.to_at AT TIME ZONE $1::text)::date"""


def merge(a: dict[K, F], b: dict[K, F]) -> dict[K, F]:
    """``a`` with the figures of ``b`` added key by key."""
    out = dict(a)
    for key, fig in b.items():
        out[key] = out[key] + fig if key in out else fig
    return out


def runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive runs (first, last) of the sorted ``days``."""
    start = prev = None
    for d in days:
        if prev is not None and d != prev + timedelta(days=1):
            yield start, prev  # type: ignore[misc]
            start = None
        start = start or d
        prev = d
    if prev is not None:
        yield start, prev  # type: ignore[misc]


async def _reset_if_changed(conn: asyncpg.Connection, ms: ServiceLevelRules, tz: str) -> None:
    row = await conn.fetchrow("SELECT tz, service_level_s, short_abandon_s"
                              " FROM report_rollup_state")
    wanted = (tz, ms.service_level_s, ms.short_abandon_s)
    if row is None or tuple(row) != wanted:
        await conn.execute("DELETE FROM report_days")
        await conn.execute(STATE, *wanted)


async def refresh(conn: asyncpg.Connection, ms: ServiceLevelRules, tz: str, first: date,
                  last: date) -> int:
    """Make the rollup of the local days ``first`` .. ``last`` current; returns days built.

    ``last`` must be a day that is over (before the centre's today).
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        await _reset_if_changed(conn, ms, tz)
        await conn.execute(INVALIDATE, tz)
        done = {r["day"] for r in await conn.fetch(
            "SELECT day FROM report_days WHERE day BETWEEN $1 AND $2", first, last)}
        missing = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        missing = [d for d in missing if d not in done]
        for lo, hi in runs(missing):
            await _build(conn, ms, tz, lo, hi)
    return len(missing)


async def keep(conn: asyncpg.Connection, ms: ServiceLevelRules, tz: str, first: date, last: date,
               chunk_days: int = 7) -> int:
    """:func:`refresh` ``first`` .. ``last`` newest first, ``chunk_days`` per transaction.

    Reports wait for the lock of one chunk at most. Returns the days built.
    """
    built = 0
    while last >= first:
        lo = max(first, last - timedelta(days=chunk_days - 1))
        built += await refresh(conn, ms, tz, lo, last)
        last = lo - timedelta(days=1)
    return built


INSERT_CALL_HOURS = """INSERT INTO report_call_hours (day, hour, queue, figures)
SELECT d, h, q, f::jsonb FROM unnest($1::date[], $2::int[], $3::text[], $4::text[]) u(d, h, q, f)"""
INSERT_AGENT_DAYS = """INSERT INTO report_agent_days (day, queue, agent, figures)
SELECT d, q, a, f::jsonb FROM unnest($1::date[], $2::text[], $3::text[], $4::text[]) u(d, q, a, f)"""
INSERT_AGENT_TIME = """INSERT INTO report_agent_time_days (day, agent, figures)
SELECT d, a, f::jsonb FROM unnest($1::date[], $2::text[], $3::text[]) u(d, a, f)"""


async def _insert(conn: asyncpg.Connection, statement: str,
                  figures: dict[Any, CallFigures] | dict[Any, AgentFigures]) -> None:
    """Insert ``figures`` (key tuple → figures) as key columns + JSON, in one statement."""
    if figures:
        rows = [(*key, json.dumps(fig.as_dict())) for key, fig in figures.items()]
        await conn.execute(statement, *[list(col) for col in zip(*rows, strict=True)])


async def _build(conn: asyncpg.Connection, ms: ServiceLevelRules, tz: str, first: date,
                 last: date) -> None:
    start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
    q = sql.CallQuery(start, end, end, tz, closed_only=True)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    await conn.execute("INSERT INTO report_days (day) SELECT unnest($1::date[])", days)
    await _insert(conn, INSERT_CALL_HOURS, await sql.call_figures_by_hour(conn, ms, q))
    await _insert(conn, INSERT_AGENT_DAYS, await sql.agent_call_figures(conn, q))
    await _insert(conn, INSERT_AGENT_TIME, await sql.agent_time_figures(conn, start, end, tz))


DICT_TYPES = {"outbound": "bigint", "paused_s": "float8"}
"""SQL types of the values of the figures' dict fields."""


def _sum_exprs(cls: type[F]) -> tuple[str, list[str]]:
    """SQL sums of the scalar fields of ``cls`` over ``figures`` JSON, and its dict fields."""
    exprs, dicts = [], []
    for name, default in cls().as_dict().items():
        if isinstance(default, dict):
            dicts.append(name)
            continue
        typ = "float8" if isinstance(default, float) else "bigint"
        agg = "max" if name.endswith("_max") else "sum"
        exprs.append(f"coalesce({agg}((figures->>'{name}')::{typ}), 0)::{typ} AS {name}")
    return ", ".join(exprs), dicts


async def sums(conn: asyncpg.Connection, cls: type[F], table: str, key: str, where: str,
               *args: Any) -> dict[Any, F]:
    """The figures of ``table`` rows matching ``where``, added up per ``key`` (in SQL)."""
    exprs, dicts = _sum_exprs(cls)
    out: dict[Any, F] = {}
    for r in await conn.fetch(f"SELECT {key} AS k, {exprs} FROM {table} WHERE {where}"
                              " GROUP BY 1", *args):
        out[r["k"]] = cls(**{n: v for n, v in r.items() if n != "k"})
    for name in dicts:
        typ = DICT_TYPES[name]
        for r in await conn.fetch(
                f"SELECT {key} AS k, e.key AS name, sum(e.value::{typ})::{typ} AS v"
                f" FROM {table}, jsonb_each_text(figures->'{name}') e WHERE {where}"
                " GROUP BY 1, 2", *args):
            getattr(out[r["k"]], name)[r["name"]] = r["v"]
    return out


async def read_calls(conn: asyncpg.Connection, first: date, last: date, queue: str | None
                     ) -> tuple[dict[date, CallFigures], dict[int, CallFigures]]:
    """Rolled-up CallFigures of ``first`` .. ``last`` by local day and by hour of day."""
    where = "day BETWEEN $1 AND $2 AND ($3::text IS NULL OR queue = $3)"
    return (await sums(conn, CallFigures, "report_call_hours", "day", where, first, last, queue),
            await sums(conn, CallFigures, "report_call_hours", "hour", where, first, last, queue))


async def read_agents(conn: asyncpg.Connection, first: date, last: date, queue: str | None,
                      agents: list[str] | None) -> dict[str, AgentFigures]:
    """Rolled-up AgentFigures (calls and time) per agent over ``first`` .. ``last``.

    Time is per agent, not per queue: ``queue`` filters the call part only.
    """
    where = "day BETWEEN $1 AND $2 AND ($3::text[] IS NULL OR agent = ANY($3))"
    calls = await sums(conn, AgentFigures, "report_agent_days", "agent",
                       where + " AND ($4::text IS NULL OR queue = $4)", first, last, agents,
                       queue)
    times = await sums(conn, AgentFigures, "report_agent_time_days", "agent", where, first,
                       last, agents)
    return merge(calls, times)
