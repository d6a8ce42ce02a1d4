"""A durable local spool of opaque payloads in numbered segment files.

Format: ``000000000001.seg``, ``000000000002.seg``, ... in the directory, each a run of
frames ``>I length | >I zlib.crc32(payload) | payload``; ``cursor`` holds the text
``"<segment> <end offset>"`` of the last committed frame (replaced atomically);
``rejected.seg`` keeps refused payloads in the same framing; ``spool.lock`` is flocked.
Faults: ``append`` returns once the frame is fsynced; a failed write (ENOSPC, EROFS, EIO)
is truncated back to the frame's start and raised with its errno, and past ``max_bytes``
:class:`SpoolFull` is raised before writing, so a frame is on disk whole or not at all.
On open a torn frame at the end of the last segment is truncated (warning); a bad CRC or
an impossible length elsewhere is logged, counted in ``corrupt_records`` and the rest of
its segment skipped. A crash may deliver again what followed the saved cursor, never less.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import structlog

log = structlog.get_logger(__name__)

_HEAD = struct.Struct(">II")
_SEGMENT = re.compile(r"^(\d{12})\.seg$")


class SpoolFull(OSError):
    """The configured size bound is reached (nothing written)."""


class SpoolLocked(RuntimeError):
    """Another process (or Spool object) is using the spool directory."""


class SpoolPosition(NamedTuple):
    """Where a record ends: its segment number and the offset just past its frame."""

    segment: int
    end: int


class _Corrupt(Exception):
    """The bytes at a read position are not a valid frame (the reason is the message)."""


@dataclass
class _Segment:
    size: int = 0  # end of the last whole frame: how far it may be read
    records: int = 0  # pending (not committed) records in it
    nbytes: int = 0  # their bytes, framing included


class Spool:
    """Payloads waiting for the database, durable and in append order.

    ``append`` (one thread) and ``read``/``commit``/``rewind`` (another) may run
    concurrently. One process per directory: :class:`SpoolLocked` otherwise.
    """

    def __init__(self, directory: str | Path, *, max_bytes: int = 1 << 30,
                 segment_bytes: int = 16 << 20) -> None:
        self.path = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        # lock order: _read_lock, _append_lock, _open_lock, _state
        self._read_lock, self._append_lock = threading.Lock(), threading.Lock()
        self._open_lock, self._state = threading.Lock(), threading.Lock()
        self._lock_fd: int | None = None
        self._wfd: int | None = None
        self._rfd: int | None = None
        self._opened = False
        self._corrupt = 0
        self._log = log.bind(path=str(self.path))
        self._reset(SpoolPosition(0, 0))
        try:
            self._open(create=False)
        except OSError as exc:
            self._log.warning("spool_not_opened", error=repr(exc))

    def _reset(self, cursor: SpoolPosition) -> None:
        self._segs: dict[int, _Segment] = {}
        self._depth = self._bytes = 0
        self._committed = self._read_pos = self._last_read = cursor
        self._inflight: deque[tuple[SpoolPosition, int]] = deque()
        self._wseg = self._last = cursor.segment
        self._rseg = 0

    def _seg_path(self, n: int) -> Path:
        return self.path / f"{n:012d}.seg"

    def _open(self, *, create: bool) -> bool:
        """Lock and recover the directory once; False when it is missing and not ``create``."""
        with self._open_lock:
            if self._opened:
                return True
            if create:
                self.path.mkdir(parents=True, exist_ok=True)
            elif not self.path.is_dir():
                return False
            if self._lock_fd is None:
                fd = os.open(self.path / "spool.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise SpoolLocked(f"spool directory {self.path} is in use") from None
                self._lock_fd = fd
            self._recover()
            self._opened = True
            return True

    def _recover(self) -> None:
        cursor = self._load_cursor()
        numbers = sorted(int(m[1]) for p in self.path.iterdir() if (m := _SEGMENT.match(p.name)))
        for n in numbers:
            if n < cursor.segment:  # consumed, a crash came before its deletion
                self._unlink(n)
        live = [n for n in numbers if n >= cursor.segment]
        segs = {n: self._scan(n, cursor.end if n == cursor.segment else 0, n == live[-1])
                for n in live}
        with self._state:
            self._reset(cursor)
            self._segs = segs
            self._depth = sum(s.records for s in segs.values())
            self._bytes = sum(s.nbytes for s in segs.values())
            self._wseg = self._last = max([cursor.segment, *numbers])  # appends go to a new one
        if self._depth:
            self._log.info("spool_recovered", depth=self._depth, bytes=self._bytes)

    def _scan(self, n: int, start: int, last: bool) -> _Segment:
        """The whole frames of segment n from ``start``, by their headers; a torn tail cut off."""
        seg, fd = _Segment(), os.open(self._seg_path(n), os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            off = min(start, size)
            while off < size:
                head = os.pread(fd, _HEAD.size, off)
                frame = _HEAD.size + _HEAD.unpack(head)[0] if len(head) == _HEAD.size else size
                if off + frame > size:
                    break
                seg.records, seg.nbytes, off = seg.records + 1, seg.nbytes + frame, off + frame
        finally:
            os.close(fd)
        seg.size = off
        if off < size and not last:
            self._corrupt += 1
            self._log.error("spool_record_corrupt", segment=n, offset=off,
                            reason="impossible length", bytes_skipped=size - off)
        elif off < size:
            try:
                os.truncate(self._seg_path(n), off)
                _fsync(self._seg_path(n))
                self._log.warning("spool_torn_tail_dropped", segment=n, offset=off,
                                  bytes_dropped=size - off)
            except OSError as exc:  # read-only: it is never read nor appended to
                self._log.error("spool_torn_tail_kept", segment=n, error=repr(exc))
        return seg

    def _load_cursor(self) -> SpoolPosition:
        try:
            text = (self.path / "cursor").read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return SpoolPosition(0, 0)
        try:
            segment, end = map(int, text.split())
            return SpoolPosition(segment, end)
        except ValueError:
            self._log.warning("spool_cursor_unreadable", text=text[:40])
            return SpoolPosition(0, 0)

    def append(self, payload: bytes) -> None:
        """Write ``payload`` durably (fsynced) after everything appended before; blocking.

        Raises :class:`SpoolFull` if the pending bytes would pass ``max_bytes``, or the
        ``OSError`` of a failed write (errno intact); in both cases nothing was added.
        """
        frame = _HEAD.pack(len(payload), zlib.crc32(payload)) + payload
        with self._append_lock:
            self._open(create=True)
            if self.bytes + len(frame) > self.max_bytes:
                raise SpoolFull(errno.ENOSPC, f"spool bound of {self.max_bytes} bytes reached",
                                str(self.path))
            fd, n, start = self._writable(len(frame))
            try:
                _write_all(fd, frame)
                os.fsync(fd)
            except OSError:
                self._undo(fd, start)
                raise
            with self._state:
                self._segs[n].size = start + len(frame)
                self._count(n, 1, len(frame))

    def _writable(self, size: int) -> tuple[int, int, int]:
        """(fd, segment, offset) to append a frame of ``size`` bytes at, rolling when full."""
        with self._state:
            s = self._segs.get(self._wseg)
            fits = s is not None and (s.size == 0 or s.size + size <= self.segment_bytes)
        if self._wfd is None or not fits:
            self._seal_writer()
            n = self._last + 1
            fd = os.open(self._seg_path(n), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC,
                         0o600)
            try:
                _fsync(self.path)
            except OSError:
                os.close(fd)
                raise
            with self._state:
                self._segs[n] = _Segment()
                self._wseg = self._last = n
            self._wfd = fd
        with self._state:
            return self._wfd, self._wseg, self._segs[self._wseg].size

    def _undo(self, fd: int, start: int) -> None:
        """Cut a failed frame off; if that fails too, never append to this segment again."""
        try:
            os.ftruncate(fd, start)
        except OSError as exc:
            self._log.error("spool_write_not_undone", segment=self._wseg, offset=start,
                            error=repr(exc))
            self._seal_writer()

    def _seal_writer(self) -> None:
        _close_quietly(self._wfd)
        self._wfd = None

    def _count(self, n: int, records: int, nbytes: int) -> None:
        s = self._segs[n]
        s.records, s.nbytes = s.records + records, s.nbytes + nbytes
        self._depth, self._bytes = self._depth + records, self._bytes + nbytes

    def read(self, max_records: int) -> list[tuple[SpoolPosition, bytes]]:
        """Up to ``max_records`` pending payloads in order, continuing after the last one read.

        Blocking. Each payload's CRC is checked; a corrupt frame is logged, counted and the
        rest of its segment skipped. Returns [] when nothing more is pending.
        """
        out: list[tuple[SpoolPosition, bytes]] = []
        with self._read_lock:
            if not self._open(create=False):
                return out
            while len(out) < max_records:
                n, off = self._read_pos
                with self._state:
                    s = self._segs.get(n)
                    limit = s.size if s is not None else -1
                    later = None if off < limit else next((k for k in self._segs if k > n), None)
                if off >= limit:
                    if later is None:
                        break
                    self._read_pos = SpoolPosition(later, 0)
                    continue
                try:
                    payload = self._read_frame(n, off, limit)
                except _Corrupt as exc:
                    self._skip(n, off, str(exc))
                    continue
                pos = SpoolPosition(n, off + _HEAD.size + len(payload))
                out.append((pos, payload))
                self._inflight.append((pos, _HEAD.size + len(payload)))
                self._read_pos = self._last_read = pos
        return out

    def _read_frame(self, n: int, off: int, limit: int) -> bytes:
        if limit - off < _HEAD.size:
            raise _Corrupt("short header")
        if self._rfd is None or self._rseg != n:
            self._close_reader()
            try:
                self._rfd, self._rseg = os.open(self._seg_path(n), os.O_RDONLY), n
            except FileNotFoundError:
                raise _Corrupt("segment file missing") from None
        head = os.pread(self._rfd, _HEAD.size, off)
        length, crc = _HEAD.unpack(head) if len(head) == _HEAD.size else (limit, 0)
        if length > limit - off - _HEAD.size:
            raise _Corrupt("impossible length")
        payload = os.pread(self._rfd, length, off + _HEAD.size)
        if len(payload) != length or zlib.crc32(payload) != crc:
            raise _Corrupt("bad crc")
        return payload

    def _close_reader(self) -> None:
        _close_quietly(self._rfd)
        self._rfd = None

    def _skip(self, n: int, off: int, reason: str) -> None:
        """Fence a corrupt frame: the rest of segment n is dropped and never read or written."""
        with self._append_lock, self._state:
            s = self._segs[n]
            kept = [size for pos, size in self._inflight if pos.segment == n]
            dropped, skipped = s.records - len(kept), s.size - off
            self._count(n, -dropped, sum(kept) - s.nbytes)
            s.size = off
            if n == self._wseg:
                self._seal_writer()
            self._corrupt += 1
        self._log.error("spool_record_corrupt", segment=n, offset=off, reason=reason,
                        bytes_skipped=skipped, records_dropped=dropped)

    def commit(self, position: SpoolPosition) -> None:
        """Everything read up to and including ``position`` is applied: forget it for good.

        Saves the cursor (atomically, once) and deletes the segments consumed; disk errors
        are logged, not raised (a lost cursor only means records delivered again).
        Raises ValueError for a position that ``read`` has not returned since ``rewind``.
        """
        with self._read_lock:
            if position <= self._committed:
                return
            if position > self._last_read:
                raise ValueError(f"{position} was not read (last read: {self._last_read})")
            with self._state:
                while self._inflight and self._inflight[0][0] <= position:
                    pos, size = self._inflight.popleft()
                    self._count(pos.segment, -1, -size)
                self._committed = position
                done = [n for n, s in self._segs.items() if n < position.segment
                        or (n == position.segment and position.end >= s.size)]
            self._save_cursor(position)
            for n in done:
                self._drop(n)

    def _drop(self, n: int) -> None:
        """Delete segment n if consumed; the one appended to only while no append is under way."""
        with self._state:
            active = n == self._wseg  # else n is final: appends went on to a later segment
        if active and not self._append_lock.acquire(blocking=False):
            return
        try:
            with self._state:
                s = self._segs.get(n)
                if s is None or (n == self._committed.segment and s.size > self._committed.end):
                    return  # appended to since the commit began
                del self._segs[n]
                self._depth, self._bytes = self._depth - s.records, self._bytes - s.nbytes
                if active:
                    self._seal_writer()
        finally:
            if active:
                self._append_lock.release()
        if self._rseg == n:
            self._close_reader()
        self._unlink(n)

    def _unlink(self, n: int) -> None:
        try:
            self._seg_path(n).unlink()
        except OSError as exc:
            self._log.warning("spool_segment_not_deleted", segment=n, error=repr(exc))

    def _save_cursor(self, position: SpoolPosition) -> None:
        tmp = self.path / "cursor.tmp"
        try:
            _write_file(tmp, f"{position.segment} {position.end}\n".encode(), os.O_TRUNC)
            os.replace(tmp, self.path / "cursor")
            _fsync(self.path)
        except OSError as exc:
            self._log.error("spool_cursor_not_saved", position=tuple(position), error=repr(exc))

    def rewind(self) -> None:
        """Make the next ``read`` start again after the last committed position."""
        with self._read_lock:
            self._inflight.clear()
            self._read_pos = self._last_read = self._committed

    def reject(self, payload: bytes) -> None:
        """Keep a payload the database refused in ``rejected.seg``; logs disk errors, never raises."""
        frame = _HEAD.pack(len(payload), zlib.crc32(payload)) + payload
        try:
            with self._append_lock:
                self.path.mkdir(parents=True, exist_ok=True)
                _write_file(self.path / "rejected.seg", frame, os.O_APPEND)
        except OSError as exc:
            self._log.error("spool_reject_failed", payload_bytes=len(payload), error=repr(exc))

    def close(self) -> None:
        """Close the files and release the directory (a later call opens it again)."""
        with self._read_lock, self._append_lock, self._open_lock:
            self._close_reader()
            self._seal_writer()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            self._lock_fd, self._opened = None, False

    @property
    def depth(self) -> int:
        """Records pending: appended and not committed."""
        with self._state:
            return self._depth

    @property
    def corrupt_records(self) -> int:
        """Corrupt frames met (and skipped with the rest of their segment) since open."""
        with self._state:
            return self._corrupt

    @property
    def bytes(self) -> int:
        """Bytes of the pending records on disk, framing included."""
        with self._state:
            return self._bytes


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``, looping over short writes."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write returned nothing")
        view = view[written:]


def _write_file(path: Path, data: bytes, flags: int) -> None:
    """Write ``data`` to ``path`` (created, opened with ``flags``) and fsync; cut back on failure."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o600)
    try:
        start = os.fstat(fd).st_size
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _close_quietly(fd: int | None) -> None:
    """Close ``fd`` (when open), whatever the disk says: the spool is done with it."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
