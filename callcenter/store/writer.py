"""The store's write path: batches to PostgreSQL, else the spool, else memory, else a gap.

While the database answers and nothing waits, an operation is written at
once. When it cannot be reached (or a write takes longer than ``timeout_s``)
the operation and every later one go, in order, to the durable
:class:`~callcenter.store.spool.Spool` (file I/O in a worker thread); a
drainer applies the spool in order, streaming it, as soon as the database
answers again. When the spool's disk fails too (full, read-only, its size
bound reached) operations are held in memory up to ``memory_max_bytes``; past
that an operation is dropped and recorded as a :class:`JournalGap` (exactly
which journal sequence range of which server), logged at error level and
written to ``journal_gaps`` once the database is back. Every write is
idempotent, so an operation applied twice (after a crash) changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog

from callcenter import db
from callcenter.calls.model import AgentStateChanged, CallRecord
from callcenter.store.agents import AgentRepository
from callcenter.store.calls import CallRepository
from callcenter.store.codec import record_from_dict, record_to_dict, state_from_dict, state_to_dict
from callcenter.store.gaps import GapRepository, JournalGap
from callcenter.store.journal import JournalEntry, JournalRepository, JournalRow
from callcenter.store.leases import LeaseRepository
from callcenter.store.monitoring import (
    MonitoringFact,
    MonitoringRepository,
    fact_from_dict,
    fact_to_dict,
)
from callcenter.store.spool import Spool, SpoolPosition

log = structlog.get_logger(__name__)

UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidCatalogNameError,
)
"""Errors that mean "the database cannot be reached now" (spool and retry)."""

ERROR_LOG_EVERY_S = 60.0
"""A fault that lasts is logged again at error level this often."""
DRAIN_READ = 1
"""Spooled operations read (and decoded, off the event loop) at a time."""


@dataclass
class Op:
    """One write: ``kind`` (journal | calls | states) and its items."""

    kind: str
    items: Sequence[Any]

    def encode(self) -> bytes:
        """The spool form (JSON)."""
        return orjson.dumps({"op": self.kind, "items": [_ENCODERS[self.kind][0](i)
                                                        for i in self.items]})

    @classmethod
    def decode(cls, payload: bytes) -> Op:
        """The operation of a spool record."""
        data = orjson.loads(payload)
        return cls(data["op"], [_ENCODERS[data["op"]][1](i) for i in data["items"]])

    def gaps(self, reason: str, at: datetime) -> list[JournalGap]:
        """What is lost when this operation is dropped, per server."""
        by_server: dict[str, list[Any]] = {}
        for item in self.items:
            by_server.setdefault(item.server, []).append(item)
        out = []
        for server, items in by_server.items():
            seqs = [e.seq for e in items] if self.kind == "journal" else []
            out.append(JournalGap(server, "store_dropped", self.kind, len(items), reason, at,
                                  min(seqs, default=None), max(seqs, default=None)))
        return out


class Fault:
    """A fault that comes and goes: logged at error level when it starts (and every
    :data:`ERROR_LOG_EVERY_S` while it lasts), at info when it ends; ``on_change(event,
    error or None)`` is told of each start and end (from any thread)."""

    def __init__(self, event: str) -> None:
        self.event = event
        self.error: str | None = None
        self.since: float | None = None
        self.on_change: Callable[[str, str | None], None] | None = None
        self._logged = 0.0

    def happened(self, error: str, **context: Any) -> None:
        now = time.monotonic()
        if self.error is None or now - self._logged >= ERROR_LOG_EVERY_S:
            log.error(self.event, error=error, **context)
            self._logged = now
        if self.error is None:
            self.since = time.time()
            if self.on_change is not None:
                self.on_change(self.event, error)
        self.error = error

    def cleared(self) -> None:
        if self.error is not None:
            log.info(self.event + "_cleared", after_s=round(time.time() - (self.since or 0), 1))
            if self.on_change is not None:
                self.on_change(self.event, None)
        self.error = self.since = None


class StoreWriter:
    """Ordered, idempotent writes of journal entries, call records and agent states.

    ``migrate``: apply the migrations on the first connection (a daemon started
    while PostgreSQL was down). :meth:`abandon_database` (shutdown) ends the
    database write under way and sends everything after it to the spool.
    """

    def __init__(self, pool: asyncpg.Pool, spool_dir: str | Path, *, timeout_s: float = 10.0,
                 retry_s: float = 1.0, spool_max_bytes: int = 1 << 30,
                 memory_max_bytes: int = 64 << 20, migrate: bool = False) -> None:
        self.pool = pool
        self.journal = JournalRepository(pool)
        self.calls = CallRepository(pool)
        self.agents = AgentRepository(pool)
        self.monitoring = MonitoringRepository(pool)
        self.gap_repo = GapRepository(pool)
        self.spool = Spool(spool_dir, max_bytes=spool_max_bytes)
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.memory_max_bytes = memory_max_bytes
        self.spooled_ops = 0
        self.gaps: deque[JournalGap] = deque(maxlen=100)
        """The newest gaps (for ``/readyz``); all of them also go to ``journal_gaps``."""
        self.lost_items: dict[str, int] = {"journal": 0, "calls": 0, "states": 0,
                                           "monitoring": 0}
        self.commit_latency: Callable[[float], None] | None = None
        """Called with the seconds of each journal write to PostgreSQL (for ``/metrics``)."""
        self.on_loss: Callable[[JournalGap], None] | None = None
        """Called with each gap recorded (the daemon raises a wallboard alert)."""
        self.fence: Mapping[str, int] | None = None
        """Active/standby: server → the lease epoch this instance serves it under; writes
        of other servers, or under an older epoch, are dropped (None: no fencing)."""
        self.on_fenced: Callable[[str], None] | None = None
        """Called with each server whose writes were fenced off."""
        self.database = Fault("database_unreachable")
        self.disk = Fault("spool_write_failed")
        self._migrated = not migrate
        self._held: deque[tuple[Op, bytes]] = deque()
        self._held_bytes = 0
        self._gaps_to_store: list[JournalGap] = []
        self._abandoned = False
        self._in_use: dict[asyncio.Task[Any], Any] = {}
        """The connection each write task holds (cut when the write is abandoned)."""
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------
    async def start(self) -> None:
        """Start the drainer in a task of its own (the daemon runs :meth:`drain_forever`
        under its supervisor instead)."""
        if self._task is None:
            self._task = asyncio.create_task(self.drain_forever(), name="store-spool-drainer")

    async def close(self, drain_timeout_s: float = 3.0) -> None:
        """Stop the drainer, drain for at most ``drain_timeout_s``, keep what is left on
        disk; what cannot be kept is recorded as a gap (logged)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self._abandoned and self.pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain_timeout_s):
                    await self._drain()
        await asyncio.to_thread(self._spill_held)
        for op, _ in self._held:
            self.record_loss(op, "daemon stopped while the database and the spool were unavailable")
        self._held.clear()
        self._held_bytes = 0
        self.spool.close()

    def abandon_database(self) -> None:
        """Shutdown with a stalled database: end the write under way; spool the rest."""
        self._abandoned = True
        for task in list(self._in_use):
            self._cut(task)

    # -- figures -----------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Operations waiting (spooled or held in memory)."""
        return self.spool.depth + len(self._held)

    @property
    def held_bytes(self) -> int:
        """Bytes of the writes held in memory (neither the database nor the spool took them)."""
        return self._held_bytes

    def health(self) -> dict[str, Any]:
        """The write path's state, for ``/readyz``."""
        return {
            "database": "ok" if self.database.error is None else "unreachable",
            "database_error": self.database.error,
            "spool_ops": self.spool.depth, "spool_bytes": self.spool.bytes,
            "spool_error": self.disk.error,
            "spool_corrupt_records": self.spool.corrupt_records,
            "held_ops": len(self._held), "held_bytes": self.held_bytes,
            "lost": dict(self.lost_items),
            "gaps": [g.as_dict() for g in self.gaps],
        }

    # -- writes -------------------------------------------------------------------
    async def write_journal(self, entries: Sequence[JournalEntry]) -> None:
        """Append journal entries (kept on return: in PostgreSQL, the spool, or memory)."""
        if entries:
            await self._submit(Op("journal", [e.row() for e in entries]))

    async def write_calls(self, records: Sequence[CallRecord]) -> None:
        """Upsert call records."""
        if records:
            await self._submit(Op("calls", records))

    async def write_states(self, facts: Sequence[AgentStateChanged]) -> None:
        """Record agent state facts."""
        if facts:
            await self._submit(Op("states", facts))

    async def write_monitoring(self, facts: Sequence[MonitoringFact]) -> None:
        """Store monitoring facts (sessions; spy legs withdrawn from the calls)."""
        if facts:
            await self._submit(Op("monitoring", facts))

    def _direct(self) -> bool:
        return (not self.spool.depth and not self._held and not self._abandoned
                and self.database.error is None)

    async def _submit(self, op: Op) -> None:
        async with self._lock:
            if self._direct():
                try:
                    await self._apply(op)
                    return
                except UNREACHABLE as exc:
                    self.database.happened(repr(exc), spool=str(self.spool.path))
                except Exception:
                    log.exception("store_write_rejected", op=op.kind)
                    await asyncio.to_thread(self.spool.reject, op.encode())
                    return
            await self._keep(op)
        self._wake.set()

    async def _keep(self, op: Op) -> None:
        """Spool ``op`` (behind what is held in memory), else hold it, else drop it."""
        payload = await asyncio.to_thread(op.encode)
        if not self._held:
            try:
                await asyncio.to_thread(self.spool.append, payload)
                self.spooled_ops += 1
                self.disk.cleared()
                return
            except OSError as exc:
                self.disk.happened(repr(exc), spool=str(self.spool.path))
        if self._held_bytes + len(payload) > self.memory_max_bytes:
            self.record_loss(op, f"database unreachable, spool failing ({self.disk.error}), "
                           f"memory bound of {self.memory_max_bytes} bytes reached")
            return
        self._held.append((op, payload))
        self._held_bytes += len(payload)

    def record_loss(self, op: Op, reason: str) -> None:
        """``op`` is not kept: log it at error level and record its gaps (stored when
        the database is back)."""
        for gap in op.gaps(reason, datetime.now(UTC)):
            log.error("store_data_dropped", server=gap.server, what=gap.what, items=gap.items,
                      first_seq=gap.first_seq, last_seq=gap.last_seq, reason=reason)
            self.gaps.append(gap)
            self._gaps_to_store.append(gap)
            self.lost_items[gap.what] += gap.items
            if self.on_loss is not None:
                self.on_loss(gap)

    async def _bounded(self, work: Coroutine[Any, Any, None]) -> None:
        """Run one database write within ``timeout_s``. Past it, the write is abandoned:
        its connection is cut (a stalled server keeps asyncpg waiting even after a
        cancellation) and TimeoutError raised, so nothing waits on the server."""
        task = asyncio.ensure_future(work)
        task.add_done_callback(_consume)
        try:
            done, _ = await asyncio.wait({task}, timeout=0 if self._abandoned else self.timeout_s)
        except asyncio.CancelledError:
            self._cut(task)
            raise
        if not done:
            self._cut(task)
            raise TimeoutError(f"the database did not answer within {self.timeout_s} s")
        task.result()

    def _cut(self, task: asyncio.Task[Any]) -> None:
        conn = self._in_use.pop(task, None)
        if conn is not None:
            with contextlib.suppress(Exception):  # already released or closed
                conn.terminate()
        task.cancel()

    @contextlib.asynccontextmanager
    async def _connection(self) -> Any:
        """A pooled connection for the current write task (see :meth:`_bounded`); one
        whose work failed is terminated, not reset (a reset waits on the server)."""
        conn = await self.pool.acquire()
        task = asyncio.current_task()
        assert task is not None
        self._in_use[task] = conn
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(Exception):
                conn.terminate()
            raise
        finally:
            self._in_use.pop(task, None)
            await self.pool.release(conn)

    async def _apply(self, op: Op) -> None:
        started = time.perf_counter()
        await self._bounded(self._write(op))
        self.database.cleared()
        if op.kind == "journal" and self.commit_latency is not None:
            self.commit_latency(time.perf_counter() - started)

    async def _write(self, op: Op) -> None:
        async with self._connection() as conn:
            if not self._migrated:
                await db.migrate(conn)
                self._migrated = True
                log.info("database_migrated_after_start")
            if self.fence is None:
                await self._write_items(op, conn)
                return
            async with conn.transaction():
                await self._write_items(await self._fenced(op, conn), conn)

    async def _fenced(self, op: Op, conn: Any) -> Op:
        """``op`` without the items of servers whose lease this instance no longer holds
        under the epoch it serves them with (:attr:`fence`); the leases stay share-locked
        until the write commits, so a takeover cannot slip in between."""
        assert self.fence is not None
        servers = sorted({item.server for item in op.items})
        current = await LeaseRepository.fenced_epochs(conn, servers)
        lost = [s for s in servers if s not in self.fence or current.get(s) != self.fence[s]]
        if not lost:
            return op
        log.error("store_fenced", servers=lost, kind=op.kind,
                  items=sum(item.server in lost for item in op.items))
        if self.on_fenced is not None:
            for server in lost:
                self.on_fenced(server)
        return Op(op.kind, [item for item in op.items if item.server not in lost])

    async def _write_items(self, op: Op, conn: Any) -> None:
        if op.kind == "journal":
            await self.journal.append_rows(op.items, conn)
        elif op.kind == "calls":
            await self.calls.upsert_calls(op.items, conn)
            await self.agents.touch_queues(
                ((r.server, q, r.started_at) for r in op.items for q in r.queues or
                 ([r.queue] if r.queue else [])), conn)
        elif op.kind == "monitoring":
            await self.monitoring.apply(op.items, conn)
        else:
            await self.agents.apply_states(op.items, conn)
        if self._gaps_to_store:
            gaps, self._gaps_to_store = self._gaps_to_store, []
            try:
                await self.gap_repo.record(gaps, conn)
            except BaseException:
                self._gaps_to_store[:0] = gaps
                raise

    # -- draining -------------------------------------------------------------------
    async def drain_forever(self) -> None:
        """Every ``retry_s`` (or when woken), apply what waits; never returns. First takes
        in a spool left by callcenter before 0.2 (``store.jsonl``); what a previous run
        left is drained at once."""
        await asyncio.to_thread(self._import_legacy_spool)
        if self.spool.depth:
            log.info("spool_found", pending=self.spool.depth, bytes=self.spool.bytes,
                     path=str(self.spool.path))
            self._wake.set()
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a
            # cancellation that comes as it times out, and close() then waited forever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.retry_s):
                    await self._wake.wait()
            self._wake.clear()
            if self.pending or self.database.error is not None or self._gaps_to_store:
                await self._drain()

    async def _drain(self) -> bool:
        """Apply the spool, then what memory holds, in order; True when nothing waits."""
        await asyncio.to_thread(self._spill_held)
        self.spool.rewind()  # from the last commit: a cancelled pass may have read further
        try:
            while self.spool.depth:
                batch = await asyncio.to_thread(self._read_spool)
                if not batch:
                    break
                for position, op in batch:
                    await self._apply_spooled(op)
                    await asyncio.to_thread(self.spool.commit, position)
            while self._held and not self.spool.depth:
                op, payload = self._held[0]
                await self._apply_spooled(op)
                self._held.popleft()
                self._held_bytes -= len(payload)
            if not self.pending and (self._gaps_to_store or self.database.error is not None):
                await self._bounded(self._record_gaps())
                self.database.cleared()
        except UNREACHABLE as exc:
            self.spool.rewind()
            self.database.happened(repr(exc), pending=self.pending)
            return False
        if not self.pending:
            log.info("spool_drained")
        return not self.pending

    async def _record_gaps(self) -> None:
        async with self._connection() as conn:
            await self.gap_repo.record(self._gaps_to_store, conn)
        self._gaps_to_store = []

    async def _apply_spooled(self, op: Op | None) -> None:
        if op is None:
            return
        try:
            await self._apply(op)
        except UNREACHABLE:
            raise
        except Exception:
            log.exception("store_write_rejected", op=op.kind)
            await asyncio.to_thread(self.spool.reject, op.encode())

    def _read_spool(self) -> list[tuple[SpoolPosition, Op | None]]:
        """The next spooled operations, decoded (runs in a worker thread)."""
        return list(_decoded(self.spool.read(DRAIN_READ)))

    def _import_legacy_spool(self) -> None:
        """Append the operations of an old ``store.jsonl`` to the spool, in order (worker
        thread); the file is renamed ``.imported`` once every line is in."""
        old = self.spool.path / LEGACY_SPOOL
        if not old.exists():
            return
        ops = 0
        try:
            with old.open("rb") as fh:
                for n, line in enumerate(fh, 1):
                    try:
                        data = orjson.loads(line)
                        op = Op(data["op"], [_LEGACY[data["op"]](i) for i in data["items"]])
                    except (ValueError, KeyError, TypeError):
                        log.error("spool_legacy_line_unreadable", path=str(old), line=n)
                        continue
                    self.spool.append(op.encode())
                    ops += 1
            old.rename(old.with_name(LEGACY_SPOOL + ".imported"))
        except OSError as exc:  # tried again at the next start; writes are idempotent
            self.disk.happened(repr(exc), spool=str(self.spool.path))
            return
        log.info("spool_legacy_imported", ops=ops, path=str(old))

    def _spill_held(self) -> None:
        """Move what memory holds to the spool while the disk takes it (worker thread)."""
        while self._held:
            _, payload = self._held[0]
            try:
                self.spool.append(payload)
            except OSError as exc:
                self.disk.happened(repr(exc), spool=str(self.spool.path))
                return
            self._held.popleft()
            self._held_bytes -= len(payload)
            self.disk.cleared()


def _consume(task: asyncio.Task[Any]) -> None:
    """Retrieve an abandoned write's outcome (its error was already handled as a timeout)."""
    if not task.cancelled():
        task.exception()


def _decoded(records: Sequence[tuple[SpoolPosition, bytes]]
             ) -> Iterator[tuple[SpoolPosition, Op | None]]:
    for position, payload in records:
        try:
            yield position, Op.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.error("spool_record_unreadable", bytes=len(payload))
            yield position, None


LEGACY_SPOOL = "store.jsonl"
_LEGACY: dict[str, Callable[[Any], Any]] = {
    "journal": lambda item: JournalEntry.from_dict(item).row(),
    "calls": record_from_dict,
    "states": state_from_dict,
}
"""How each operation of a ``store.jsonl`` spool (before 0.2) is read back."""

_ENCODERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "journal": (list, lambda row: JournalRow(*row)),
    "calls": (record_to_dict, record_from_dict),
    "states": (state_to_dict, state_from_dict),
    "monitoring": (fact_to_dict, fact_from_dict),
}
