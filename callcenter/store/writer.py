"""The store's write path: batches to PostgreSQL, or to the spool while it is down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from callcenter.calls.model import AgentStateChanged, CallRecord
from callcenter.store.agents import AgentRepository
from callcenter.store.calls import CallRepository
from callcenter.store.codec import record_from_dict, record_to_dict, state_from_dict, state_to_dict
from callcenter.store.journal import JournalEntry, JournalRepository
from callcenter.store.spool import Spool

log = structlog.get_logger(__name__)

UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
"""Errors that mean "the database cannot be reached now" (spool and retry)."""


class StoreWriter:
    """Ordered, idempotent writes of journal entries, call records and agent states.

    While the database is unreachable every operation goes to the durable
    :class:`Spool` (in order); a background task retries every ``retry_s``
    seconds and applies the spool in order before anything new, so nothing is
    lost and — since every write is idempotent — nothing is doubled, even when
    an operation is applied again after a crash.
    """

    def __init__(self, pool: asyncpg.Pool, spool_dir: str | Path, *, timeout_s: float = 10.0,
                 retry_s: float = 1.0) -> None:
        self.pool = pool
        self.journal = JournalRepository(pool)
        self.calls = CallRepository(pool)
        self.agents = AgentRepository(pool)
        self.spool = Spool(spool_dir)
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.spooled_ops = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the spool drainer (drains what a previous run left first)."""
        if self._task is None:
            self._task = asyncio.create_task(self._drain_loop(), name="store-spool-drainer")
            if len(self.spool):
                log.info("spool_found", pending=len(self.spool), path=str(self.spool.path))
                self._wake.set()

    async def close(self) -> None:
        """Stop the drainer after one last attempt to drain the spool."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._lock:
            await self._drain()

    @property
    def pending(self) -> int:
        """Operations waiting in the spool."""
        return len(self.spool)

    async def write_journal(self, entries: Sequence[JournalEntry]) -> None:
        """Append journal entries (durable on return: in PostgreSQL or in the spool)."""
        if entries:
            await self._submit("journal", entries)

    async def write_calls(self, records: Sequence[CallRecord]) -> None:
        """Upsert call records."""
        if records:
            await self._submit("calls", records)

    async def write_states(self, facts: Sequence[AgentStateChanged]) -> None:
        """Record agent state facts."""
        if facts:
            await self._submit("states", facts)

    async def _submit(self, kind: str, items: Sequence[Any]) -> None:
        async with self._lock:
            if not len(self.spool):
                try:
                    await self._apply(kind, items)
                    return
                except UNREACHABLE as exc:
                    log.warning("database_unreachable", error=repr(exc), spool=str(self.spool.path))
                except Exception:
                    log.exception("store_write_rejected", op=kind)
                    self.spool.reject(_encode(kind, items))
                    return
            await asyncio.to_thread(self.spool.append, _encode(kind, items))
            self.spooled_ops += 1
            self._wake.set()

    async def _apply(self, kind: str, items: Sequence[Any]) -> None:
        async with asyncio.timeout(self.timeout_s):
            async with self.pool.acquire() as conn:
                if kind == "journal":
                    await self.journal.append(items, conn)
                elif kind == "calls":
                    await self.calls.upsert_calls(items, conn)
                    await self.agents.touch_queues(
                        ((r.server, q, r.started_at) for r in items for q in r.queues or
                         ([r.queue] if r.queue else [])), conn)
                else:
                    await self.agents.apply_states(items, conn)

    async def _drain(self) -> bool:
        """Apply the spool in order; True when it is empty afterwards."""
        if not len(self.spool):
            return True
        try:
            for op in self.spool.pending():
                if op is not None:
                    try:
                        await self._apply(op["op"], _decode(op))
                    except UNREACHABLE:
                        raise
                    except Exception:
                        log.exception("store_write_rejected", op=op.get("op"))
                        self.spool.reject(op)
                self.spool.advance()
        except UNREACHABLE as exc:
            log.info("spool_drain_waiting", pending=len(self.spool), error=repr(exc))
            return False
        self.spool.clear()
        log.info("spool_drained")
        return True

    async def _drain_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.retry_s)
            self._wake.clear()
            if len(self.spool):
                async with self._lock:
                    await self._drain()


_ENCODERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "journal": (JournalEntry.to_dict, JournalEntry.from_dict),
    "calls": (record_to_dict, record_from_dict),
    "states": (state_to_dict, state_from_dict),
}


def _encode(kind: str, items: Sequence[Any]) -> dict[str, Any]:
    """The JSON-safe spool form of an operation."""
    return {"op": kind, "items": [_ENCODERS[kind][0](i) for i in items]}


def _decode(op: dict[str, Any]) -> list[Any]:
    """The objects of a spooled operation."""
    return [_ENCODERS[op["op"]][1](i) for i in op["items"]]
