"""Recognising recording files (pure functions: formats, path mapping, store paths)."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callcenter.recordings.files import (
    RefusedPath,
    map_path,
    resolve_stored,
    stored_name,
    wait_complete,
)
from callcenter.recordings.formats import probe
from callcenter.sim.wav import write_wav


def riff(tag: int, rate: int, byte_rate: int, block: int, bits: int, data: bytes,
         declared: int | None = None) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, 1, rate, byte_rate, block, bits)
    size = len(data) if declared is None else declared
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"fact" + struct.pack("<II", 4, 0) + b"data" + struct.pack("<I", size) + data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def ogg_page(granule: int, payload: bytes) -> bytes:
    return (b"OggS\x00\x00" + struct.pack("<q", granule) + b"\x00" * 12 + bytes([1, len(payload)])
            + payload)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pcm_wav_from_the_simulator(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", 7.25)
    got = probe(tmp_path / "a.wav")
    assert (got.verdict, got.format, got.duration_s) == ("ready", "wav", pytest.approx(7.25))


def test_header_only_wav_is_empty(tmp_path: Path) -> None:
    write_wav(tmp_path / "b.wav", 0)
    assert probe(tmp_path / "b.wav").verdict == "empty"


@pytest.mark.parametrize(("tag", "byte_rate", "block", "fmt"), [
    (0x31, 1625, 65, "wav49"), (7, 8000, 1, "wav"), (6, 8000, 1, "wav")])
def test_compressed_wavs(tmp_path: Path, tag: int, byte_rate: int, block: int,
                         fmt: str) -> None:
    path = write(tmp_path, "c.WAV", riff(tag, 8000, byte_rate, block, 8, b"\xd5" * byte_rate * 3))
    got = probe(path)
    assert (got.verdict, got.format, got.duration_s) == ("ready", fmt, pytest.approx(3.0))


@pytest.mark.parametrize(("data", "detail"), [
    (riff(1, 8000, 16000, 2, 16, b"\x00" * 1000, declared=32000), "truncated"),
    (riff(1, 8000, 16000, 2, 16, b"\x00" * 1000, declared=0), "not finalised"),
    (riff(1, 0, 0, 2, 16, b"\x00" * 1000), "implausible"),
    (b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "no data chunk"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "not a RIFF/WAVE"),
    (b"RIFF" + struct.pack("<I", 20) + b"WAVEdata" + struct.pack("<I", 4) + b"abcd",
     "data before fmt"),
])
def test_broken_wavs_are_corrupt(tmp_path: Path, data: bytes, detail: str) -> None:
    got = probe(write(tmp_path, "x.wav", data))
    assert got.verdict == "corrupt" and detail in got.detail and got.duration_s is None


def test_streamed_wav_size_is_taken_from_the_file(tmp_path: Path) -> None:
    got = probe(write(tmp_path, "s.wav", riff(1, 8000, 16000, 2, 16, b"\x01" * 32000,
                                              declared=0xFFFFFFFF)))
    assert got.verdict == "ready" and got.duration_s == pytest.approx(2.0)


def test_raw_formats_by_size_and_rate(tmp_path: Path) -> None:
    gsm = probe(write(tmp_path, "a.gsm", bytes([0xD8] + [0] * 32) * 250))
    assert (gsm.verdict, gsm.format, gsm.duration_s) == ("ready", "gsm", pytest.approx(5.0))
    silence = probe(write(tmp_path, "a.ulaw", b"\xff" * 16000))  # looks like an MPEG sync
    assert (silence.format, silence.duration_s) == ("ulaw", pytest.approx(2.0))
    assert probe(write(tmp_path, "a.alaw", b"\xd5" * 4000)).duration_s == pytest.approx(0.5)
    assert probe(write(tmp_path, "a.sln16", b"\0" * 64000)).duration_s == pytest.approx(2.0)
    assert probe(write(tmp_path, "e.gsm", b"")).verdict == "empty"


@pytest.mark.parametrize(("name", "data", "detail"), [
    ("t.gsm", bytes([0xD8] + [0] * 32) * 3 + b"\xd8\x00", "truncated"),
    ("g.gsm", b"\x11" * 330, "not GSM"),
    ("o.sln", b"\0" * 3, "truncated"),
    ("x.flac", b"fLaC" + b"\0" * 100, "unrecognised"),
    ("garbage.wav", b"hello world" * 50, "unrecognised"),
])
def test_broken_raw_files_are_corrupt(tmp_path: Path, name: str, data: bytes,
                                      detail: str) -> None:
    got = probe(write(tmp_path, name, data))
    assert got.verdict == "corrupt" and detail in got.detail


def test_ogg_vorbis_and_opus_duration_from_last_granule(tmp_path: Path) -> None:
    ident = b"\x01vorbis" + struct.pack("<IBI", 0, 1, 8000) + b"\0" * 10
    vorbis = ogg_page(0, ident) + b"\0" * 5000 + ogg_page(8000 * 5, b"audio")
    got = probe(write(tmp_path, "a.ogg", vorbis))
    assert (got.verdict, got.format, got.duration_s) == ("ready", "ogg", pytest.approx(5.0))
    head = b"OpusHead" + struct.pack("<BBHI", 1, 1, 312, 8000) + b"\0\0\0"
    opus = ogg_page(0, head) + ogg_page(48000 * 3 + 312, b"audio")
    assert probe(write(tmp_path, "b.opus", opus)).duration_s == pytest.approx(3.0)
    assert probe(write(tmp_path, "c.ogg", ogg_page(0, b"nothing"))).verdict == "corrupt"


def test_mp3_by_id3_and_first_frame(tmp_path: Path) -> None:
    frame = b"\xff\xfb\x90\x00" + b"\0" * 413  # MPEG-1 layer III, 128 kbit/s
    data = b"ID3\x04\x00\x00\x00\x00\x00\x00" + frame * 77
    got = probe(write(tmp_path, "a.mp3", data))
    assert got.format == "mp3" and got.duration_s == pytest.approx(len(frame) * 77 / 16000)
    assert probe(write(tmp_path, "b.mp3", b"not an mp3 at all")).verdict == "corrupt"


def test_path_mapping() -> None:
    spool = "/var/spool/asterisk/monitor"
    assert map_path(f"{spool}/2026/x.wav", spool, "/data/monitor") == Path(
        "/data/monitor/2026/x.wav")
    assert map_path("x.wav", spool, "/data/monitor") == Path("/data/monitor/x.wav")
    assert map_path("/data/monitor/y.wav", spool, "/data/monitor") == Path("/data/monitor/y.wav")


@pytest.mark.parametrize(("announced", "why"), [
    ("/elsewhere/x.wav", "outside"), ("/var/spool/asterisk/monitorother/x.wav", "outside"),
    ("../../../etc/passwd", "'..'"), ("/var/spool/asterisk/monitor/../../../etc/x.wav", "'..'"),
    ("a/../../x.wav", "'..'"), ("", "empty"), ("x\x00.wav", "NUL"),
    ("/var/spool/asterisk/monitor", "outside /data"), (".", "outside /data")])
def test_a_path_leaving_the_monitor_directories_is_refused(announced: str, why: str) -> None:
    with pytest.raises(RefusedPath, match=why):
        map_path(announced, "/var/spool/asterisk/monitor", "/data/monitor")


def test_a_symlink_or_a_directory_inside_the_spool_is_refused(tmp_path: Path) -> None:
    spool, outside = tmp_path / "monitor", tmp_path / "outside"
    (spool / "2026").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.wav").write_bytes(b"RIFF")
    (spool / "out.wav").symlink_to(outside / "secret.wav")
    (spool / "dir").symlink_to(outside)
    (spool / "in.wav").symlink_to(spool / "2026")
    for name, why in [("out.wav", "outside"), ("dir/secret.wav", "outside"),
                      ("in.wav", "a symlink"), ("2026", "not a regular file")]:
        with pytest.raises(RefusedPath, match=why):
            map_path(f"/var/spool/asterisk/monitor/{name}", "/var/spool/asterisk/monitor",
                     str(spool))
    assert map_path("2026/later.wav", "/x", str(spool)) == spool / "2026" / "later.wav"


def test_stored_name_is_derived_from_the_call_and_safe() -> None:
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert stored_name("pbx1", "pbx1-17.3", 2, "a.WAV", at) == "2026/01/02/pbx1_pbx1-17.3_2.wav"
    assert stored_name("../x", "a/b", 1, "f.w/v", at) == "2026/01/02/.._x_a_b_1"


def test_resolve_stored_stays_inside(tmp_path: Path) -> None:
    (tmp_path / "store" / "a").mkdir(parents=True)
    (tmp_path / "store" / "out").symlink_to(tmp_path)
    store = tmp_path / "store"
    assert resolve_stored(store, "a/f.wav") == store.resolve() / "a" / "f.wav"
    for bad in ("", "/etc/passwd", "../x", "a/../../x", "out/secret", ".", "a\x00b"):
        assert resolve_stored(store, bad) is None, bad


async def test_wait_complete_gives_up_on_a_file_that_never_comes(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await wait_complete(tmp_path / "none.wav", 0.05, 0.2) is None
    assert 0.2 <= loop.time() - start < 1.0
    (tmp_path / "some.wav").write_bytes(b"x" * 10)
    assert await wait_complete(tmp_path / "some.wav", 0.05, 1.0) == 10


async def test_wait_complete_sees_a_header_rewritten_in_place(tmp_path: Path) -> None:
    """MixMonitor fixes the WAV header on close without changing the size."""
    path = tmp_path / "h.wav"
    path.write_bytes(b"\0" * 100)

    async def rewrite() -> None:
        await asyncio.sleep(0.15)
        with path.open("r+b") as fh:
            fh.write(b"RIFF")

    task = asyncio.create_task(rewrite())
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await wait_complete(path, 0.3, 2.0, poll_s=0.02) == 100
    await task
    assert loop.time() - start >= 0.15 + 0.3  # the rewrite restarted the stable period
    assert path.read_bytes()[:4] == b"RIFF"
