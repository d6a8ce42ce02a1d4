"""cel_pgsql for the simulator: CEL records inserted into PostgreSQL as they happen.

:meth:`CelWriter.put` never blocks the PBX: records wait in a bounded buffer that a
writer task inserts in batches. While the database is unreachable the writer logs,
keeps (up to ``max_pending``) and retries; the simulation goes on regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import asyncpg
import structlog

from callcenter.sim.cel import COLUMNS, CelRecord

log = structlog.get_logger(__name__)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


class CelWriter:
    """Inserts :class:`CelRecord` rows into ``table`` of the database at ``dsn``."""

    def __init__(self, dsn: str, table: str = "cel", *, max_pending: int = 100_000,
                 retry_s: float = 1.0, connect_timeout_s: float = 5.0) -> None:
        if not _IDENT.fullmatch(table):
            raise ValueError(f"invalid CEL table name: {table!r}")
        self.dsn, self.retry_s, self.connect_timeout_s = dsn, retry_s, connect_timeout_s
        self.max_pending = max_pending
        quoted = ".".join(f'"{part}"' for part in table.split("."))
        marks = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
        self._sql = f"INSERT INTO {quoted} ({', '.join(COLUMNS)}) VALUES ({marks})"
        self._pending: list[CelRecord] = []
        self._wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self.written = 0
        self.dropped = 0

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, record: CelRecord) -> None:
        """Queue ``record`` for insertion (the oldest are dropped beyond ``max_pending``)."""
        self._pending.append(record)
        if len(self._pending) > self.max_pending:
            del self._pending[0]
            self.dropped += 1
        self._wake.set()

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued record is written; False when that took too long."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._pending or self._busy:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def close(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (within ``timeout_s``), then stop."""
        if self._task is None:
            return
        await self.flush(timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self._disconnect()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:500], self._pending[500:]
                self._busy = True
                try:
                    await self._insert(batch)
                    self.written += len(batch)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                        TimeoutError) as exc:
                    self._pending[:0] = batch
                    log.warning("sim_cel_write_failed", error=repr(exc), pending=len(self._pending))
                    await self._disconnect()
                    await asyncio.sleep(self.retry_s)
                finally:
                    self._busy = False

    async def _insert(self, batch: list[CelRecord]) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout_s)
        rows = [tuple(r.row().values()) for r in batch]
        await self._conn.executemany(self._sql, rows, timeout=self.connect_timeout_s)

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
