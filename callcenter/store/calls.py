"""Calls and their child rows (ring attempts, transfers, violations)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from callcenter.calls.model import CallRecord, RingAttempt, Transfer, Violation
from callcenter.store.arrays import CALL_KEYS_IN, columns

_CALL_COLS = ["server", "linkedid", "direction", "caller", "caller_name", "callee", "queue",
              "queues", "agent", "started_at", "queue_joined_at", "answered_at", "ended_at",
              "wait_s", "talk_s", "hold_s", "hangup_by", "hangup_cause", "disposition",
              "incomplete_reason", "recordings", "talk_ended_at", "unknown",
              "survey_offered", "survey_score"]
_CALL_TYPES = ["text", "text", "text", "text", "text", "text", "text", "text", "text",
               "timestamptz", "timestamptz", "timestamptz", "timestamptz", "float8", "float8",
               "float8", "text", "int", "text", "text", "text", "timestamptz", "text", "boolean",
               "int"]
_ARRAY_COLS = {"queues", "recordings", "unknown"}  # passed as JSON text: unnest cannot take ragged arrays


def _unnest(cols: list[str], types: list[str], first: int = 1) -> str:
    """``unnest($first::type[], ...) AS t(cols)`` for rows passed as column arrays."""
    args = ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(types))
    return f"unnest({args}) AS t({', '.join(cols)})"


_SELECT_CALL = ", ".join(
    f"ARRAY(SELECT json_array_elements_text({c}::json))" if c in _ARRAY_COLS else c
    for c in _CALL_COLS)
_UPSERT = f"""WITH incoming AS (SELECT * FROM {_unnest(_CALL_COLS, _CALL_TYPES)}),
upserted AS (
    INSERT INTO calls ({", ".join(_CALL_COLS)})
    SELECT {_SELECT_CALL} FROM incoming
    ON CONFLICT (server, linkedid) DO UPDATE SET direction = EXCLUDED.direction,
        caller = EXCLUDED.caller, caller_name = EXCLUDED.caller_name, callee = EXCLUDED.callee,
        queue = EXCLUDED.queue, queues = EXCLUDED.queues, agent = EXCLUDED.agent,
        started_at = EXCLUDED.started_at, queue_joined_at = EXCLUDED.queue_joined_at,
        answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at,
        wait_s = EXCLUDED.wait_s, talk_s = EXCLUDED.talk_s, hold_s = EXCLUDED.hold_s,
        hangup_by = EXCLUDED.hangup_by, hangup_cause = EXCLUDED.hangup_cause,
        disposition = EXCLUDED.disposition, incomplete_reason = EXCLUDED.incomplete_reason,
        recordings = EXCLUDED.recordings, talk_ended_at = EXCLUDED.talk_ended_at,
        unknown = EXCLUDED.unknown, survey_offered = EXCLUDED.survey_offered,
        survey_score = EXCLUDED.survey_score),
dropped_attempts AS (
    DELETE FROM ring_attempts WHERE (server, linkedid) IN (SELECT server, linkedid FROM incoming)),
dropped_transfers AS (
    DELETE FROM transfers WHERE (server, linkedid) IN (SELECT server, linkedid FROM incoming))
DELETE FROM violations WHERE (server, linkedid) IN (SELECT server, linkedid FROM incoming)"""
"""The calls and the removal of their child rows: one statement (the reports'
triggers run once), in which each table is touched by one part only."""

_RA_COLS = ["server", "linkedid", "idx", "agent", "interface", "queue", "channel", "uniqueid",
            "started_at", "ended_at", "ring_s", "rings", "outcome", "within_rule"]
_TR_COLS = ["server", "linkedid", "idx", "type", "from_agent", "to_agent", "at"]
_VI_COLS = ["server", "linkedid", "idx", "agent", "interface", "queue", "ring_s", "rings",
            "deadline_s", "at", "action", "result", "detail"]
_RA_TYPES = ["text", "text", "int", "text", "text", "text", "text", "text", "timestamptz",
             "timestamptz", "float8", "int", "text", "boolean"]
_TR_TYPES = ["text", "text", "int", "text", "text", "text", "timestamptz"]
_VI_TYPES = ["text", "text", "int", "text", "text", "text", "float8", "int", "float8",
             "timestamptz", "text", "text", "text"]
_CHILDREN = f"""WITH attempts AS (
    INSERT INTO ring_attempts ({", ".join(_RA_COLS)})
    SELECT * FROM {_unnest(_RA_COLS, _RA_TYPES)}),
moves AS (
    INSERT INTO transfers ({", ".join(_TR_COLS)})
    SELECT * FROM {_unnest(_TR_COLS, _TR_TYPES, 1 + len(_RA_COLS))})
INSERT INTO violations ({", ".join(_VI_COLS)})
SELECT * FROM {_unnest(_VI_COLS, _VI_TYPES, 1 + len(_RA_COLS) + len(_TR_COLS))}"""


def _call_row(c: CallRecord) -> tuple[Any, ...]:
    return (c.server, c.linkedid, c.direction, c.caller, c.caller_name, c.callee, c.queue,
            orjson.dumps(list(c.queues)).decode(), c.agent, c.started_at, c.queue_joined_at,
            c.answered_at, c.ended_at, c.wait_s, c.talk_s, c.hold_s, c.hangup_by, c.hangup_cause,
            c.disposition, c.incomplete_reason, orjson.dumps(list(c.recordings)).decode(),
            c.talk_ended_at, orjson.dumps(list(c.unknown)).decode(), c.survey_offered,
            c.survey_score)


def _children(calls: Sequence[CallRecord]) -> tuple[list[tuple[Any, ...]], ...]:
    ras, trs, vis = [], [], []
    for c in calls:
        key = (c.server, c.linkedid)
        ras += [(*key, i, a.agent, a.interface, a.queue, a.channel, a.uniqueid, a.started_at,
                 a.ended_at, a.ring_s, a.rings, a.outcome, a.within_rule)
                for i, a in enumerate(c.ring_attempts)]
        trs += [(*key, i, t.type, t.from_agent, t.to_agent, t.at)
                for i, t in enumerate(c.transfers)]
        vis += [(*key, i, v.agent, v.interface, v.queue, v.ring_s, v.rings, v.deadline_s, v.at,
                 v.action, v.result, v.detail) for i, v in enumerate(c.violations)]
    return ras, trs, vis


def _record(row: asyncpg.Record) -> CallRecord:
    return CallRecord(
        server=row["server"], linkedid=row["linkedid"], started_at=row["started_at"],
        direction=row["direction"], caller=row["caller"], caller_name=row["caller_name"],
        callee=row["callee"], queue=row["queue"], agent=row["agent"],
        queue_joined_at=row["queue_joined_at"], answered_at=row["answered_at"],
        talk_ended_at=row["talk_ended_at"], ended_at=row["ended_at"], hold_s=row["hold_s"],
        hangup_by=row["hangup_by"],
        hangup_cause=row["hangup_cause"], disposition=row["disposition"],
        incomplete_reason=row["incomplete_reason"], recordings=list(row["recordings"]),
        queues=list(row["queues"]), unknown=list(row["unknown"]),
        survey_offered=row["survey_offered"], survey_score=row["survey_score"])


class CallRepository:
    """Batched, idempotent writes and reads of call records."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def upsert_calls(self, records: Sequence[CallRecord],
                           conn: asyncpg.Connection | None = None) -> None:
        """Store ``records`` (the last one wins per call) in one transaction.

        A call's row is upserted on (server, linkedid); its ring attempts,
        transfers and violations are replaced, so writing the same record
        twice leaves the same rows.
        """
        latest = list({(c.server, c.linkedid): c for c in records}.values())
        if not latest:
            return
        if conn is None:
            async with self.pool.acquire() as c:
                await self.upsert_calls(latest, c)
            return
        ras, trs, vis = _children(latest)
        async with conn.transaction():
            await conn.execute(_UPSERT, *columns(map(_call_row, latest), len(_CALL_COLS)))
            if ras or trs or vis:
                await conn.execute(_CHILDREN, *columns(ras, len(_RA_COLS)),
                                   *columns(trs, len(_TR_COLS)), *columns(vis, len(_VI_COLS)))

    async def delete_calls(self, server: str, linkedids: Sequence[str] | None,
                           conn: asyncpg.Connection, started_from: datetime | None = None
                           ) -> None:
        """Delete calls (and their child rows) of ``server``: those named, or all (None);
        with ``started_from``, only those that started at/after it."""
        where, args = (("server = $1", [server]) if linkedids is None else
                       (CALL_KEYS_IN, [[server] * len(linkedids), list(linkedids)]))
        if started_from is not None:
            args.append(started_from)
            where += f" AND started_at >= ${len(args)}"
        await conn.execute(f"DELETE FROM calls WHERE {where}", *args)

    async def started_before(self, server: str, linkedids: Sequence[str], before: datetime,
                             conn: asyncpg.Connection) -> set[str]:
        """Those of ``linkedids`` whose stored call started before ``before``."""
        rows = await conn.fetch("SELECT linkedid FROM calls WHERE server = $1"
                                " AND linkedid = ANY($2::text[]) AND started_at < $3",
                                server, list(linkedids), before)
        return {r["linkedid"] for r in rows}

    async def count_calls(self, server: str, linkedids: Iterable[str] | None,
                          started_from: datetime | None, conn: asyncpg.Connection) -> int:
        """The calls of ``server`` (those of ``linkedids``, or all) that started at/after
        ``started_from`` (None: whenever)."""
        return int(await conn.fetchval(
            "SELECT count(*) FROM calls WHERE server = $1 AND ($2::text[] IS NULL"
            " OR linkedid = ANY($2)) AND ($3::timestamptz IS NULL OR started_at >= $3)",
            server, None if linkedids is None else list(linkedids), started_from))

    async def get_call(self, server: str, linkedid: str) -> CallRecord | None:
        """One call with its children, or None."""
        calls = await self._load("WHERE server = $1 AND linkedid = $2", server, linkedid)
        return calls[0] if calls else None

    async def list_calls(self, *, limit: int | None = 50, since: datetime | None = None,
                         server: str | None = None, newest_first: bool = True
                         ) -> list[CallRecord]:
        """Calls started at/after ``since`` (UTC), newest first unless told otherwise."""
        order = "DESC" if newest_first else "ASC"
        return await self._load(
            "WHERE ($1::timestamptz IS NULL OR started_at >= $1)"
            " AND ($2::text IS NULL OR server = $2)"
            f" ORDER BY started_at {order}, server, linkedid LIMIT $3", since, server, limit)

    async def open_calls(self, server: str) -> list[CallRecord]:
        """The calls of ``server`` that have not ended (with their children)."""
        return await self._load("WHERE server = $1 AND ended_at IS NULL ORDER BY started_at",
                                server)

    async def count_by_disposition(self) -> dict[str, int]:
        """Number of calls per disposition ('open' for calls not ended)."""
        rows = await self.pool.fetch(
            "SELECT coalesce(disposition, 'open') AS d, count(*) AS n FROM calls GROUP BY 1"
            " ORDER BY 2 DESC, 1")
        return {r["d"]: r["n"] for r in rows}

    async def _load(self, where: str, *args: Any) -> list[CallRecord]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(f"SELECT * FROM calls {where}", *args)
            calls = [_record(r) for r in rows]
            if not calls:
                return []
            by_key = {(c.server, c.linkedid): c for c in calls}
            keys = ([c.server for c in calls], [c.linkedid for c in calls])
            sel = f"WHERE {CALL_KEYS_IN} ORDER BY server, linkedid, idx"
            for r in await conn.fetch(f"SELECT * FROM ring_attempts {sel}", *keys):
                by_key[r["server"], r["linkedid"]].ring_attempts.append(RingAttempt(
                    agent=r["agent"], interface=r["interface"], started_at=r["started_at"],
                    queue=r["queue"], channel=r["channel"], uniqueid=r["uniqueid"],
                    ended_at=r["ended_at"], outcome=r["outcome"], rings=r["rings"],
                    within_rule=r["within_rule"]))
            for r in await conn.fetch(f"SELECT * FROM transfers {sel}", *keys):
                by_key[r["server"], r["linkedid"]].transfers.append(Transfer(
                    type=r["type"], from_agent=r["from_agent"], to_agent=r["to_agent"],
                    at=r["at"]))
            for r in await conn.fetch(f"SELECT * FROM violations {sel}", *keys):
                by_key[r["server"], r["linkedid"]].violations.append(Violation(
                    agent=r["agent"], interface=r["interface"], queue=r["queue"],
                    ring_s=r["ring_s"], rings=r["rings"], deadline_s=r["deadline_s"], at=r["at"],
                    action=r["action"], result=r["result"], detail=r["detail"]))
        return calls
