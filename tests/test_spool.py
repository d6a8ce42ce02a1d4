"""The segment spool against real files: round trips, reopen, streaming, disk faults, corruption."""

from __future__ import annotations

import errno
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from callcenter.store import spool as spool_mod
from callcenter.store.spool import Spool, SpoolFull, SpoolLocked, SpoolPosition

HEAD = 8


def payload(i: int, size: int = 100) -> bytes:
    return f"op-{i:05d}-".encode().ljust(size, b"x")


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("[0-9]*.seg"))


def drain(spool: Spool, batch: int = 7) -> list[bytes]:
    """Read and commit everything pending, in batches."""
    out: list[bytes] = []
    while got := spool.read(batch):
        out.extend(p for _, p in got)
        spool.commit(got[-1][0])
    return out


@pytest.fixture
def opened() -> Iterator[Callable[..., Spool]]:
    """Opens a Spool, closed at the end of the test (so a failing test releases its lock)."""
    spools: list[Spool] = []

    def open_spool(*args: Any, **kwargs: Any) -> Spool:
        spools.append(Spool(*args, **kwargs))
        return spools[-1]

    yield open_spool
    for s in spools:
        s.close()


def test_round_trip_across_segments_deletes_consumed_ones(
    tmp_path: Path, opened: Callable[..., Spool]
) -> None:
    sp = opened(tmp_path / "spool", segment_bytes=350)  # three 108-byte frames a segment
    sent = [payload(i) for i in range(20)]
    for p in sent:
        sp.append(p)
    assert len(segments(sp.path)) == 7
    assert (sp.depth, sp.bytes) == (20, 20 * 108)
    first = sp.read(7)
    sp.commit(first[-1][0])
    assert len(segments(sp.path)) == 5  # the first two segments are consumed: deleted
    assert (sp.depth, sp.bytes) == (13, 13 * 108)
    got = [p for _, p in first] + drain(sp)
    assert got == sent
    assert segments(sp.path) == []  # the last one, fully consumed, too
    assert (sp.depth, sp.bytes) == (0, 0)
    sp.append(b"after")  # and appending goes on in a new segment
    assert drain(sp) == [b"after"]


def test_reopen_resumes_at_the_committed_cursor(
    tmp_path: Path, opened: Callable[..., Spool]
) -> None:
    sp = Spool(tmp_path, segment_bytes=350)
    for i in range(10):
        sp.append(payload(i))
    got = sp.read(4)
    sp.commit(got[-1][0])
    sp.read(3)  # read, never committed: delivered again after a restart
    sp.close()
    again = opened(tmp_path, segment_bytes=350)
    assert (again.depth, again.bytes) == (6, 6 * 108)
    assert drain(again, batch=100) == [payload(i) for i in range(4, 10)]
    assert again.depth == 0


def test_a_second_spool_on_the_same_directory_is_refused(
    tmp_path: Path, opened: Callable[..., Spool]
) -> None:
    opened(tmp_path)
    with pytest.raises(SpoolLocked):
        Spool(tmp_path)


def test_read_streams_on_and_rewind_restarts_at_the_commit(
    tmp_path: Path, opened: Callable[..., Spool], monkeypatch: pytest.MonkeyPatch
) -> None:
    sp = opened(tmp_path)
    for i in range(300):
        sp.append(payload(i, 1000))
    pread, read_bytes = os.pread, [0]

    def counting_pread(fd: int, n: int, off: int) -> bytes:
        data = pread(fd, n, off)
        read_bytes[0] += len(data)
        return data

    monkeypatch.setattr(spool_mod.os, "pread", counting_pread)
    first = sp.read(250)
    assert [p for _, p in first] == [payload(i, 1000) for i in range(250)]
    read_bytes[0] = 0
    second = sp.read(10)
    assert [p for _, p in second] == [payload(i, 1000) for i in range(250, 260)]
    assert read_bytes[0] <= 50 * 1008  # at most what follows: the 250 passed are not read again
    sp.commit(first[99][0])
    sp.rewind()
    assert [p for _, p in sp.read(1000)] == [payload(i, 1000) for i in range(100, 300)]
    with pytest.raises(ValueError):
        sp.commit(SpoolPosition(99, 0))  # never read


def test_short_writes_still_make_whole_records(
    tmp_path: Path, opened: Callable[..., Spool], monkeypatch: pytest.MonkeyPatch
) -> None:
    write, calls = os.write, [0]

    def trickle(fd: int, data: bytes) -> int:
        calls[0] += 1
        return write(fd, bytes(data[:3]))

    sp = opened(tmp_path, segment_bytes=500)
    monkeypatch.setattr(spool_mod.os, "write", trickle)
    sent = [payload(i, 10 + 37 * i) for i in range(12)]
    for p in sent:
        sp.append(p)
    monkeypatch.undo()
    assert calls[0] > 12 * 10
    sp.close()
    with capture_logs() as logs:
        again = opened(tmp_path, segment_bytes=500)
    assert not [e for e in logs if e["log_level"] in ("warning", "error")]
    assert drain(again) == sent


def test_enospc_mid_frame_truncates_back_and_raises(
    tmp_path: Path, opened: Callable[..., Spool], monkeypatch: pytest.MonkeyPatch
) -> None:
    sp = opened(tmp_path)
    for i in range(3):
        sp.append(payload(i))
    [seg] = segments(tmp_path)
    size = seg.stat().st_size
    write, calls = os.write, [0]

    def disk_fills(fd: int, data: bytes) -> int:
        calls[0] += 1
        if calls[0] == 1:
            return write(fd, bytes(data[:20]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool_mod.os, "write", disk_fills)
    with pytest.raises(OSError) as info:
        sp.append(payload(3))
    assert info.value.errno == errno.ENOSPC
    assert calls[0] == 2  # a part of the frame was written before the fault
    assert seg.stat().st_size == size
    assert (sp.depth, sp.bytes) == (3, 3 * 108)
    monkeypatch.undo()
    sp.append(payload(4))
    sp.append(payload(5))
    assert drain(sp) == [payload(i) for i in (0, 1, 2, 4, 5)]
    assert sp.corrupt_records == 0


def test_read_only_filesystem_raises_erofs(
    tmp_path: Path, opened: Callable[..., Spool], monkeypatch: pytest.MonkeyPatch
) -> None:
    sp = opened(tmp_path / "spool")

    def read_only(path: object, flags: int, mode: int = 0o777) -> int:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    sp.path.mkdir()
    monkeypatch.setattr(spool_mod.os, "open", read_only)
    with pytest.raises(OSError) as info:
        sp.append(b"op")
    assert info.value.errno == errno.EROFS
    with capture_logs() as logs:
        sp.reject(b"refused")  # logged, not raised
    assert [e["event"] for e in logs] == ["spool_reject_failed"]
    monkeypatch.undo()
    sp.append(b"op")
    assert drain(sp) == [b"op"]


def test_a_directory_that_cannot_be_created(tmp_path: Path, opened: Callable[..., Spool]) -> None:
    (tmp_path / "file").write_text("not a directory")
    sp = opened(tmp_path / "file" / "spool")  # does not raise
    assert (sp.depth, sp.read(10)) == (0, [])
    with pytest.raises(OSError):
        sp.append(b"op")
    with capture_logs() as logs:
        sp.reject(b"refused")
    assert [e["event"] for e in logs] == ["spool_reject_failed"]


def test_reject_keeps_payloads_framed(tmp_path: Path, opened: Callable[..., Spool]) -> None:
    sp = opened(tmp_path)
    sp.reject(b"one")
    sp.reject(b"two")
    data = (tmp_path / "rejected.seg").read_bytes()
    assert data == b"".join(struct.pack(">II", 3, zlib.crc32(p)) + p for p in (b"one", b"two"))
    assert sp.depth == 0


def test_size_bound_raises_spool_full_until_a_commit_frees_room(
    tmp_path: Path, opened: Callable[..., Spool]
) -> None:
    sp = opened(tmp_path, max_bytes=3 * 108)
    for i in range(3):
        sp.append(payload(i))
    size = sum(p.stat().st_size for p in segments(tmp_path))
    with pytest.raises(SpoolFull) as info:
        sp.append(payload(3))
    assert isinstance(info.value, OSError)
    assert sum(p.stat().st_size for p in segments(tmp_path)) == size
    assert sp.depth == 3
    got = sp.read(1)
    sp.commit(got[0][0])
    sp.append(payload(3))
    assert drain(sp) == [payload(i) for i in (1, 2, 3)]


def test_torn_tail_is_dropped_on_reopen(tmp_path: Path, opened: Callable[..., Spool]) -> None:
    sp = Spool(tmp_path, segment_bytes=350)
    for i in range(5):
        sp.append(payload(i))
    sp.close()
    last = segments(tmp_path)[-1]
    size = last.stat().st_size
    with last.open("ab") as fh:  # a crash in the middle of a frame
        fh.write(struct.pack(">II", 100, 0) + b"0123456789")
    with capture_logs() as logs:
        again = opened(tmp_path, segment_bytes=350)
    [torn] = [e for e in logs if e["event"] == "spool_torn_tail_dropped"]
    assert (torn["log_level"], torn["bytes_dropped"]) == ("warning", 18)
    assert last.stat().st_size == size
    assert again.depth == 5
    again.append(payload(5))
    assert drain(again) == [payload(i) for i in range(6)]
    assert again.corrupt_records == 0


@pytest.mark.parametrize("where", ["crc", "length"])
def test_a_corrupt_record_in_the_middle_skips_to_the_next_segment(
    tmp_path: Path, opened: Callable[..., Spool], where: str
) -> None:
    sp = Spool(tmp_path, segment_bytes=250)  # two 108-byte frames a segment
    for i in range(6):
        sp.append(payload(i))
    sp.close()
    middle = segments(tmp_path)[1]
    data = bytearray(middle.read_bytes())
    if where == "crc":
        data[HEAD + 20] ^= 0xFF  # a flipped bit in the payload of record 2
    else:
        data[0:4] = struct.pack(">I", 1 << 30)  # record 2 claims a gigabyte
    middle.write_bytes(bytes(data))
    with capture_logs() as logs:
        again = opened(tmp_path, segment_bytes=250)
        got = drain(again, batch=100)
    assert got == [payload(i) for i in (0, 1, 4, 5)]  # records 2 and 3 shared the bad segment
    assert again.corrupt_records == 1
    [bad] = [e for e in logs if e["event"] == "spool_record_corrupt"]
    assert bad["log_level"] == "error"
    assert (again.depth, again.bytes) == (0, 0)
    assert segments(tmp_path) == []


def test_corruption_found_while_appending_moves_appends_to_a_new_segment(
    tmp_path: Path, opened: Callable[..., Spool]
) -> None:
    sp = opened(tmp_path)
    for i in range(3):
        sp.append(payload(i))
    [seg] = segments(tmp_path)
    with seg.open("r+b") as fh:  # the disk spoils record 1 under a running spool
        fh.seek(108 + HEAD + 5)
        fh.write(b"!")
    assert [p for _, p in sp.read(10)] == [payload(0)]
    assert (sp.corrupt_records, sp.depth) == (1, 1)
    sp.append(payload(3))
    assert len(segments(tmp_path)) == 2
    sp.rewind()  # record 0 again, the fenced rest of its segment not again
    assert drain(sp) == [payload(0), payload(3)]
    assert sp.corrupt_records == 1
    assert segments(tmp_path) == []


def test_append_and_drain_from_two_threads(tmp_path: Path, opened: Callable[..., Spool]) -> None:
    sp = opened(tmp_path, segment_bytes=2000)
    sent = [payload(i, 50 + i % 300) for i in range(400)]
    got: list[bytes] = []
    done = threading.Event()

    def appender() -> None:
        for p in sent:
            sp.append(p)
        done.set()

    thread = threading.Thread(target=appender)
    thread.start()
    while not done.is_set() or sp.depth:
        batch = sp.read(13)
        if batch:
            got.extend(p for _, p in batch)
            sp.commit(batch[-1][0])
    thread.join()
    assert got == sent
    assert segments(tmp_path) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 600), max_size=40),
    segment_bytes=st.integers(1, 1500),
    batch=st.integers(1, 9),
    reopen_after=st.integers(0, 40),
)
def test_payloads_come_back_in_order(
    sizes: list[int], segment_bytes: int, batch: int, reopen_after: int
) -> None:
    sent = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    with tempfile.TemporaryDirectory() as tmp:
        sp = Spool(tmp, segment_bytes=segment_bytes)
        for p in sent[:reopen_after]:
            sp.append(p)
        sp.close()
        sp = Spool(tmp, segment_bytes=segment_bytes)
        for p in sent[reopen_after:]:
            sp.append(p)
        assert sp.depth == len(sent)
        assert drain(sp, batch) == sent
        assert (sp.depth, sp.bytes, sp.corrupt_records) == (0, 0, 0)
        sp.close()


def test_a_segment_deleted_behind_its_back_is_skipped(
    tmp_path: Path, opened: Callable[..., Spool]
) -> None:
    sp = opened(tmp_path, segment_bytes=250)
    for i in range(6):
        sp.append(payload(i))
    segments(tmp_path)[1].unlink()
    assert drain(sp) == [payload(i) for i in (0, 1, 4, 5)]
    assert (sp.corrupt_records, sp.depth) == (1, 0)
