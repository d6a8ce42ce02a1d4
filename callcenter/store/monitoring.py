"""Monitoring sessions (live listen / whisper / barge): the table and its repository.

A session is requested by the web (:meth:`MonitoringRepository.request`) and
followed from the tracker's facts (:meth:`MonitoringRepository.apply`, through
the store writer): ChanSpy started, the spy leg ended or was not answered, a spy
leg first taken for a call withdrawn from ``calls``. Every write is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import asyncpg

from callcenter.calls.channels import endpoint_of
from callcenter.calls.model import CallWithdrawn, Fact, MonitoringEnded, MonitoringStarted
from callcenter.store.calls import CallRepository

MonitoringFact = MonitoringStarted | MonitoringEnded | CallWithdrawn
FACT_TYPES: dict[str, type[MonitoringFact]] = {
    t.__name__: t for t in (MonitoringStarted, MonitoringEnded, CallWithdrawn)}

_STARTED = """
INSERT INTO monitoring_sessions (server, spy_linkedid, linkedid, endpoint, mode, status,
                                 started_at)
VALUES ($1, $2, $3, $4, $5, 'active', $6)
ON CONFLICT (server, spy_linkedid) DO UPDATE SET
    linkedid = EXCLUDED.linkedid,
    mode = COALESCE(monitoring_sessions.mode, EXCLUDED.mode),
    endpoint = CASE WHEN monitoring_sessions.endpoint = '' THEN EXCLUDED.endpoint
                    ELSE monitoring_sessions.endpoint END,
    started_at = COALESCE(monitoring_sessions.started_at, EXCLUDED.started_at),
    status = CASE WHEN monitoring_sessions.status IN ('ended', 'failed')
                  THEN monitoring_sessions.status ELSE 'active' END"""
_ENDED = """
INSERT INTO monitoring_sessions (server, spy_linkedid, linkedid, status, outcome, detail,
                                 ended_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (server, spy_linkedid) DO UPDATE SET
    linkedid = COALESCE(monitoring_sessions.linkedid, EXCLUDED.linkedid),
    status = EXCLUDED.status,
    outcome = CASE WHEN EXCLUDED.outcome = 'ended' AND monitoring_sessions.started_at IS NULL
                   THEN 'too_late' ELSE EXCLUDED.outcome END,
    detail = EXCLUDED.detail,
    ended_at = COALESCE(monitoring_sessions.ended_at, EXCLUDED.ended_at)"""
_COLUMNS = """id, server, spy_linkedid, linkedid, supervisor, endpoint, mode, status, outcome,
    detail, requested_at, started_at, ended_at, stopped_by"""


@dataclass(frozen=True)
class MonitoringSession:
    """One session; ``status`` ringing | active | ended | failed; ``outcome`` once over:
    ended | too_late (the call ended before ChanSpy began) | no_answer | busy | failed."""

    id: int
    server: str
    spy_linkedid: str
    linkedid: str | None
    supervisor: str | None
    endpoint: str
    mode: str | None
    status: str
    outcome: str
    detail: str
    requested_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    stopped_by: str | None

    @property
    def over(self) -> bool:
        """True once the session ended or failed."""
        return self.status in ("ended", "failed")


def fact_to_dict(fact: MonitoringFact) -> dict[str, Any]:
    """The spool form of a monitoring fact."""
    return {"type": type(fact).__name__, **asdict(fact)}


def fact_from_dict(data: dict[str, Any]) -> MonitoringFact:
    """The fact of :func:`fact_to_dict` (times come back as ISO strings)."""
    fields = dict(data)
    kind = FACT_TYPES[fields.pop("type")]
    at = fields["at"]
    fields["at"] = datetime.fromisoformat(at) if isinstance(at, str) else at
    return kind(**fields)


def monitoring_facts(facts: Sequence[Fact]) -> list[MonitoringFact]:
    """The facts of ``facts`` this repository stores."""
    return [f for f in facts if isinstance(f, MonitoringStarted | MonitoringEnded | CallWithdrawn)]


class MonitoringRepository:
    """Reads and writes ``monitoring_sessions``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def request(self, *, server: str, spy_linkedid: str, linkedid: str,
                      supervisor: str, endpoint: str, mode: str,
                      at: datetime) -> MonitoringSession:
        """A session the web asks for (status ringing)."""
        row = await self.pool.fetchrow(
            "INSERT INTO monitoring_sessions (server, spy_linkedid, linkedid, supervisor,"
            " endpoint, mode, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            f" RETURNING {_COLUMNS}", server, spy_linkedid, linkedid, supervisor, endpoint,
            mode, at)
        assert row is not None
        return MonitoringSession(**dict(row))

    async def fail(self, session_id: int, outcome: str, detail: str, at: datetime) -> None:
        """The Originate was refused: the session failed (unless the PBX said otherwise)."""
        await self.pool.execute(
            "UPDATE monitoring_sessions SET status = 'failed', outcome = $2, detail = $3,"
            " ended_at = $4 WHERE id = $1 AND status = 'ringing'",
            session_id, outcome, detail, at)

    async def stopped_by(self, session_id: int, username: str) -> None:
        """Note who asked to stop the session."""
        await self.pool.execute(
            "UPDATE monitoring_sessions SET stopped_by = $2 WHERE id = $1 AND stopped_by IS NULL",
            session_id, username)

    async def get(self, session_id: int) -> MonitoringSession | None:
        """One session, or None."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM monitoring_sessions WHERE id = $1", session_id)
        return MonitoringSession(**dict(row)) if row else None

    async def of_call(self, server: str, linkedid: str) -> list[MonitoringSession]:
        """The sessions of one call, oldest first."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM monitoring_sessions WHERE server = $1 AND linkedid = $2"
            " ORDER BY COALESCE(started_at, requested_at, ended_at), id", server, linkedid)
        return [MonitoringSession(**dict(r)) for r in rows]

    async def apply(self, facts: Sequence[MonitoringFact], conn: asyncpg.Connection) -> None:
        """Store the tracker's monitoring facts (idempotent)."""
        for f in facts:
            if isinstance(f, MonitoringStarted):
                await conn.execute(_STARTED, f.server, f.spy_linkedid, f.linkedid,
                                   endpoint_of(f.spyer_channel), f.mode, f.at)
            elif isinstance(f, MonitoringEnded):
                unstarted = f.outcome == "ended" and f.linkedid is None
                await conn.execute(_ENDED, f.server, f.spy_linkedid, f.linkedid,
                                   "ended" if f.outcome == "ended" else "failed",
                                   "too_late" if unstarted else f.outcome, f.detail, f.at)
            else:
                await CallRepository(self.pool).delete_calls(f.server, [f.linkedid], conn)
