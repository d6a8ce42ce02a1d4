"""The recordings consumer: when a call ends, file each of its recordings.

For every file MixMonitor announced (``RecordingAnnounced``, and the base
names in the final ``CallRecord.recordings``) it waits until the file is
complete (size stable for ``stable_wait_s``, at most ``max_wait_s``), checks
it (:mod:`callcenter.recordings.formats`), moves it into the store, computes
its SHA-256 and size, and writes its row: ready | empty | missing | corrupt.
Missing and corrupt files are checked ``retries`` more times, ``retry_delay_s``
apart, then raise a :class:`RecordingAlert` (log, ``alerts``, ``on_alert``).
A path outside the monitor directories (:func:`files.map_path`) is refused at
once: the file is never read, moved or hashed; its row says 'missing' with the
reason, an error line and a ``refused`` alert name the call.
Rows still 'pending' when the daemon stopped are taken up again at start, and
a periodic sweep files the recordings of ended calls that have no row (their
end was missed, or the database was down when it came). The same sweep walks the
monitor directory (in pages, in a worker thread; symlinks never followed) and files
each recording left there to its ended call by the uniqueid or linkedid in its name
(:func:`files.call_ids_in_name`), when the call has no row for that file; a file that
matches no call raises one ``orphaned`` alert once ``orphan_grace_s`` old.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import asyncpg
import structlog

from callcenter.calls.alerts import RecordingAlert, RecordingAlertStatus
from callcenter.calls.model import CallEnded, CallRecord, Fact, RecordingAnnounced
from callcenter.recordings import files
from callcenter.recordings.formats import Probe, probe
from callcenter.settings import RecordingSettings, Settings
from callcenter.store.recordings import Placement, Recording, RecordingRepository

log = structlog.get_logger(__name__)




SWEEP_WINDOW = timedelta(days=1)
"""How far back the sweep looks for calls ended without recording rows."""
SWEEP_GRACE_S = 120.0
"""The sweep leaves calls ended this recently to the consumer's own CallEnded."""

SPOOL_PAGE = 1000
"""Files of the monitor directory listed per worker-thread call (and matched per query)."""
CALL_SPAN = timedelta(days=1)
"""A recording's call started at most this long before the file was last written."""
CLOCK_SLACK = timedelta(hours=1)
"""... and at most this long after (clocks of the PBX and of the file system)."""

class RecordingConsumer:
    """Daemon consumer filing recordings; ``alerts`` keeps the latest 200 alerts."""

    def __init__(self, settings: RecordingSettings, pool: asyncpg.Pool, *,
                 on_alert: Callable[[RecordingAlert], None] | None = None,
                 close_grace_s: float = 5.0, concurrency: int = 4) -> None:
        self.settings = settings
        self.on_alert = on_alert
        self.alerts: deque[RecordingAlert] = deque(maxlen=200)
        self.close_grace_s = close_grace_s
        self._repo = RecordingRepository(pool)
        self._cpu = asyncio.Semaphore(concurrency)
        self._announced: dict[tuple[str, str], dict[str, str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: set[tuple[str, str, str]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._swept = asyncio.Event()
        self._orphans_alerted: set[str] = set()  # files of local_dir alerted (relative)

    @classmethod
    def from_settings(cls, settings: Settings, pool: asyncpg.Pool, *,
                      on_alert: Callable[[RecordingAlert], None] | None = None
                      ) -> RecordingConsumer:
        """A consumer on the service's pool (the database is unreachable at first: its
        sweep retries)."""
        return cls(settings.recordings, pool, on_alert=on_alert)

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        """Note announced files; start filing the recordings of every ended call."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())
        for f in facts:
            if isinstance(f, RecordingAnnounced):
                name = PurePosixPath(f.path).name
                self._announced.setdefault((f.server, f.linkedid), {})[name] = f.path
            elif isinstance(f, CallEnded):
                announced = self._announced.pop((f.call.server, f.call.linkedid), {})
                if f.call.recordings or announced:
                    self._spawn(self._file_call(f.call, announced))

    async def idle(self) -> None:
        """Wait for the first sweep, then until every recording in progress is filed
        (or given up)."""
        if self._sweeper is not None:
            await self._swept.wait()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Give work in progress ``close_grace_s`` seconds, cancel the rest (left pending)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.close_grace_s)
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- internals -------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("recording_task_failed", exc_info=task.exception())

    async def _sweep_forever(self) -> None:
        """Take up the rows a previous run left pending, then (now and every
        ``sweep_interval_s``) file the recordings of calls whose end this consumer did
        not see (ended in the last day, at least ``SWEEP_GRACE_S`` ago)."""
        resumed = False
        while True:
            try:
                repo = self._repo
                if not resumed:
                    self._resume(repo, await repo.pending())
                    resumed = True
                now = datetime.now(UTC)
                for call in await repo.unfiled_calls(now - SWEEP_WINDOW,
                                                     now - timedelta(seconds=SWEEP_GRACE_S)):
                    log.info("recording_swept", server=call.server, linkedid=call.linkedid)
                    self._spawn(self._file_call(call, {}))
                if self.settings.sweep_spool:
                    await self._sweep_spool(repo)
            except Exception:  # the database is down (or a bug): log, try again later
                log.exception("recording_sweep_failed")
                await asyncio.sleep(max(1.0, self.settings.retry_delay_s))
                continue
            self._swept.set()
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def _sweep_spool(self, repo: RecordingRepository) -> None:
        """File the recordings left in ``local_dir`` to their calls; alert (once per file)
        on those no call claims."""
        s = self.settings
        scan = files.SpoolScan(s.local_dir, skip=(s.store_dir,))
        seen: set[str] = set()
        while not scan.done:
            page = await asyncio.to_thread(scan.next_page, SPOOL_PAGE)
            seen.update(f.rel for f in page)
            if page:
                await self._place_page(repo, page)
        self._orphans_alerted &= seen  # a file gone and back is news again

    async def _place_page(self, repo: RecordingRepository, page: list[files.SpoolFile]) -> None:
        now = datetime.now(UTC)
        pairs = [(f.name, i) for f in page for i in files.call_ids_in_name(f.name)]
        placements = await repo.place_files(
            pairs, datetime.fromtimestamp(min(f.mtime for f in page), UTC) - CALL_SPAN,
            datetime.fromtimestamp(max(f.mtime for f in page), UTC) + CLOCK_SLACK)
        by_name: dict[str, list[Placement]] = {}
        for p in placements:
            by_name.setdefault(p.file_name, []).append(p)
        next_index: dict[tuple[str, str], int] = {}
        busy = {k[2] for k in self._active} | {
            name for names in self._announced.values() for name in names}
        for f in page:
            if f.name in busy:
                continue  # announced for a call in progress, or being filed now
            found = by_name.get(f.name, [])
            best = max((len(p.matched_id) for p in found), default=0)
            calls = {(p.call.server, p.call.linkedid): p for p in found
                     if len(p.matched_id) == best}  # the longest id named: systemname too
            if len(calls) == 1:
                await self._file_found(repo, f, next(iter(calls.values())), now, next_index)
            elif now.timestamp() - f.mtime >= self.settings.orphan_grace_s:
                self._orphan_alert(f, f"matches {len(calls)} calls" if calls else
                                   "its name matches no call's uniqueid or linkedid")

    async def _file_found(self, repo: RecordingRepository, f: files.SpoolFile, p: Placement,
                          now: datetime, next_index: dict[tuple[str, str], int]) -> None:
        """File ``f`` to its (ended) call unless a row for it exists already; a row that
        gave the file up as missing (it came after ``max_wait_s``) is filed again."""
        s, call = self.settings, p.call
        key = (call.server, call.linkedid, f.name)
        if key in self._active:
            return  # being filed by the call's own path
        if call.ended_at is None or call.ended_at > now - timedelta(seconds=SWEEP_GRACE_S):
            return  # still going, or its CallEnded is on its way
        late = None
        if p.has_row:
            late = await repo.get(*key)
            if late is None or late.status != "missing" or late.detail.startswith("refused"):
                return  # filed (or refused: a refusal stands) by the call's own path
        if f.name in call.recordings:
            index = call.recordings.index(f.name) + 1
        else:
            ck = (call.server, call.linkedid)
            index = next_index[ck] = next_index.get(ck, max(len(call.recordings), p.filed)) + 1
        rec = Recording(call.server, call.linkedid, f.name, call.started_at,
                        source_path=f"{s.asterisk_dir.rstrip('/')}/{f.rel}",
                        path=files.stored_name(call.server, call.linkedid, index, f.name,
                                               call.started_at.astimezone(UTC)),
                        queue=call.queue, talk_s=call.talk_s)
        if late is not None and key not in self._active:
            self._active.add(key)
            log.info("recording_found_late", server=call.server, linkedid=call.linkedid,
                     file_name=f.name, was=late.detail)
            self._spawn(self._file_one(repo, replace(
                late, status="pending", source_path=rec.source_path, path=rec.path,
                attempts=0, detail="")))
            return
        if late is not None:
            return
        self._active.add(rec.key)
        try:
            created = await repo.create(rec)
            if created and f.name not in call.recordings:
                await repo.link_to_call(call.server, call.linkedid, f.name)
        except BaseException:
            self._active.discard(rec.key)
            raise
        if not created:
            self._active.discard(rec.key)
            return
        log.info("recording_found_in_spool", server=call.server, linkedid=call.linkedid,
                 file_name=f.name, matched_id=p.matched_id)
        self._spawn(self._file_one(repo, rec))

    def _orphan_alert(self, f: files.SpoolFile, why: str) -> None:
        if f.rel in self._orphans_alerted:
            return
        self._orphans_alerted.add(f.rel)
        rec = Recording("", "", f.name, datetime.fromtimestamp(f.mtime, UTC),
                        source_path=f"{self.settings.asterisk_dir.rstrip('/')}/{f.rel}",
                        detail=f"left in the monitor directory ({f.rel}, {f.size} bytes): {why}")
        self._alert(rec, "orphaned")

    def _resume(self, repo: RecordingRepository, pending: list[Recording]) -> None:
        for rec in pending:
            if rec.key not in self._active:  # not just created by a call ending now
                log.info("recording_resumed", server=rec.server, linkedid=rec.linkedid,
                         file_name=rec.file_name)
                self._active.add(rec.key)
                self._spawn(self._file_one(repo, rec))

    async def _file_call(self, call: CallRecord, announced: dict[str, str]) -> None:
        names = list(dict.fromkeys([*(PurePosixPath(n).name for n in call.recordings),
                                    *announced]))
        todo = [Recording(
            call.server, call.linkedid, name, call.started_at,
            source_path=announced.get(name) or f"{self.settings.asterisk_dir}/{name}",
            path=files.stored_name(call.server, call.linkedid, index, name,
                                   call.started_at.astimezone(UTC)),
            queue=call.queue, talk_s=call.talk_s)
            for index, name in enumerate(names, 1)
            if (call.server, call.linkedid, name) not in self._active]
        self._active.update(rec.key for rec in todo)  # before any wait: not orphans to the sweep
        created = []
        try:
            repo = self._repo
            for rec in todo:  # a recording with a row already is filed or being filed
                if await repo.create(rec):
                    created.append(rec)
                else:
                    self._active.discard(rec.key)
        except BaseException:
            self._active.difference_update(rec.key for rec in todo)
            raise
        await asyncio.gather(*(self._file_one(repo, rec) for rec in created))

    async def _file_one(self, repo: RecordingRepository, rec: Recording) -> None:
        """File ``rec`` (marked active by the caller), then let it go."""
        try:
            await self._check_and_store(repo, rec)
        finally:
            self._active.discard(rec.key)

    async def _check_and_store(self, repo: RecordingRepository, rec: Recording) -> None:
        """Check ``rec``'s file until it is usable or the retries are spent; write the row."""
        s = self.settings
        root = s.local_dir
        try:
            local = files.map_path(rec.source_path, s.asterisk_dir, s.local_dir)
        except files.RefusedPath as exc:
            return await self._refuse(repo, rec, exc)
        moved = Path(s.store_dir) / rec.path if rec.path else None
        if moved is not None and moved.is_file() and not local.exists():
            local, root = moved, s.store_dir  # moved before a stop, its row not yet written
        ctx = {"server": rec.server, "linkedid": rec.linkedid, "file_name": rec.file_name}
        for attempt in range(1, s.retries + 2):
            size = await files.wait_complete(local, s.stable_wait_s, s.max_wait_s)
            if size is None:
                result = Probe("corrupt", "", None, f"file never appeared: {local}")
                status: RecordingAlertStatus = "missing"
            else:
                try:  # again: a symlink may have taken the file's place meanwhile
                    files.check_inside(local, root)
                except files.RefusedPath as exc:
                    return await self._refuse(repo, rec, exc)
                async with self._cpu:
                    result = await asyncio.to_thread(_safe_probe, local)
                status = "corrupt"
            rec = replace(rec, attempts=attempt, detail=result.detail)
            if result.verdict != "corrupt" or attempt > s.retries:
                break
            log.info("recording_retry", status=status, attempt=attempt, detail=result.detail,
                     **ctx)
            await repo.upsert(rec, s.short_ratio)
            await asyncio.sleep(s.retry_delay_s)
        if size is None:
            rec = replace(rec, status="missing", path=None)
        else:
            try:
                rec = await self._store(rec, local, result)
            except OSError as exc:  # the store, not the file: stays pending until restart
                rec = replace(rec, detail=f"cannot file into the store: {exc}")
                await repo.upsert(rec, s.short_ratio)
                self._alert(rec, "store_failed")
                return
        await repo.upsert(rec, s.short_ratio)
        log.info("recording_filed", status=rec.status, path=rec.path, duration_s=rec.duration_s,
                 size_bytes=rec.size_bytes, **ctx)
        if rec.status in ("missing", "corrupt"):
            self._alert(rec, status)

    async def _store(self, rec: Recording, local: Path, result: Probe) -> Recording:
        assert rec.path is not None
        async with self._cpu:
            target = await asyncio.to_thread(files.move_into_store, local,
                                             self.settings.store_dir, rec.path)
            digest = await asyncio.to_thread(files.sha256_of, target)
        return replace(rec, status=result.verdict, format=result.format or None,
                       duration_s=result.duration_s, size_bytes=target.stat().st_size,
                       sha256=digest)

    async def _refuse(self, repo: RecordingRepository, rec: Recording,
                      reason: files.RefusedPath) -> None:
        """Leave the file alone: a 'missing' row saying why, an error line, an alert."""
        rec = replace(rec, status="missing", path=None, attempts=max(1, rec.attempts),
                      detail=f"refused: {reason}")
        log.error("recording_refused", server=rec.server, linkedid=rec.linkedid,
                  file_name=rec.file_name, source_path=rec.source_path, reason=str(reason))
        await repo.upsert(rec, self.settings.short_ratio)
        self._alert(rec, "refused")

    def _alert(self, rec: Recording, status: RecordingAlertStatus) -> None:
        alert = RecordingAlert(rec.server, datetime.now(UTC), rec.linkedid, rec.file_name,
                               status, rec.attempts, rec.detail)
        log.warning("recording_alert", server=rec.server, linkedid=rec.linkedid,
                    file_name=rec.file_name, status=status, attempts=rec.attempts,
                    detail=rec.detail)
        self.alerts.append(alert)
        if self.on_alert is not None:
            self.on_alert(alert)


def _safe_probe(path: Path) -> Probe:
    """:func:`probe`, with an unreadable file reported as corrupt."""
    try:
        return probe(path)
    except OSError as exc:
        return Probe("corrupt", "", None, f"unreadable: {exc}")
