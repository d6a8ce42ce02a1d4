"""Retention and integrity of the store: purge what the rules no longer keep, verify the rest.

A recording is kept ``retention_days`` (``[queues.<name>] retention_days``
overrides ``recordings.retention_days``) from its call's start (UTC); a legal
hold on the call keeps it whatever its age. Every purge is one transaction:
the row is claimed (locked, status 'purged'), the purge audited, and the file
deleted last, so a hold set meanwhile wins and a failed delete leaves the row
as it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import structlog

from callcenter.recordings.files import resolve_stored, sha256_of
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.recordings import Recording, RecordingRepository

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurgeItem:
    """A recording past its retention: ``age_days`` since its call started."""

    rec: Recording
    retention_days: int
    age_days: float


@dataclass(frozen=True)
class VerifyProblem:
    """A stored recording whose file is gone, outside the store, or changed."""

    rec: Recording
    problem: Literal["missing", "outside", "mismatch"]
    actual_sha256: str | None = None


def retention_days_for(settings: Settings, queue: str | None) -> int:
    """Days a recording of a call in ``queue`` is kept."""
    override = settings.queues.get(queue or "")
    if override is not None and override.retention_days is not None:
        return override.retention_days
    return settings.recordings.retention_days


async def plan_purge(pool: asyncpg.Pool, settings: Settings, now: datetime) -> list[PurgeItem]:
    """The stored recordings past their retention at ``now`` (UTC), legal holds left out."""
    days = [settings.recordings.retention_days,
            *(q.retention_days for q in settings.queues.values() if q.retention_days)]
    candidates = await RecordingRepository(pool).purge_candidates(
        now - timedelta(days=min(days)))
    items = []
    for rec in candidates:
        keep = retention_days_for(settings, rec.queue)
        age = (now - rec.call_started_at).total_seconds() / 86400
        if age > keep:
            items.append(PurgeItem(rec, keep, age))
    return items


async def purge(pool: asyncpg.Pool, settings: Settings, items: list[PurgeItem], actor: str,
                details: dict[str, str] | None = None) -> list[PurgeItem]:
    """Delete the files of ``items`` and mark them purged, auditing each; the ones done."""
    audit = AuditRepository(pool)
    done = []
    for item in items:
        rec = item.rec
        async with pool.acquire() as conn, conn.transaction():
            if not await RecordingRepository.claim_purge(conn, rec.key):
                continue  # put on hold (or purged) since the plan was made
            await audit.record(actor, "recording_purged", f"call:{rec.server}/{rec.linkedid}",
                               details={"file_name": rec.file_name, "path": rec.path,
                                        "sha256": rec.sha256, "queue": rec.queue,
                                        "retention_days": item.retention_days,
                                        "age_days": round(item.age_days, 1),
                                        **(details or {})}, conn=conn)
            path = resolve_stored(settings.recordings.store_dir, rec.path or "")
            if path is None:
                log.error("recording_path_outside_store", linkedid=rec.linkedid, path=rec.path)
            else:
                path.unlink(missing_ok=True)
        done.append(item)
    return done


def check_file(store_dir: str, rec: Recording) -> VerifyProblem | None:
    """Compare ``rec``'s stored file with its recorded SHA-256; None when it matches."""
    path = resolve_stored(store_dir, rec.path or "")
    if path is None:
        return VerifyProblem(rec, "outside")
    try:
        actual = sha256_of(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return VerifyProblem(rec, "missing")
    return None if actual == rec.sha256 else VerifyProblem(rec, "mismatch", actual)


async def verify(pool: asyncpg.Pool, store_dir: str) -> tuple[int, list[VerifyProblem]]:
    """Re-hash every stored recording: (how many were checked, the problems found)."""
    recs = await RecordingRepository(pool).on_disk()
    problems = []
    for rec in recs:
        problem = await asyncio.to_thread(check_file, store_dir, rec)
        if problem is not None:
            log.warning("recording_verify_failed", server=rec.server, linkedid=rec.linkedid,
                        file_name=rec.file_name, problem=problem.problem)
            problems.append(problem)
    return len(recs), problems
