"""What a recording file holds: its format, its duration, and whether it is whole.

Pure functions over a file's bytes (the header and, for Ogg, the tail); no
knowledge of calls. Formats are recognised by their magic bytes first (RIFF
WAV incl. wav49/GSM and µ-law/A-law in WAV, Ogg Vorbis/Opus, ID3-tagged
MP3), then by extension: .mp3 (a bare MPEG frame sync is not trusted:
µ-law silence looks like one) and the raw formats MixMonitor writes (.gsm,
.ulaw, .alaw, .sln, .g722, .g729), whose duration follows from their
constant byte rate.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

Verdict = Literal["ready", "empty", "corrupt"]

RAW_BYTE_RATES: dict[str, tuple[str, int, int]] = {
    # extension: (format, bytes per second, bytes per frame)
    ".gsm": ("gsm", 1650, 33),
    ".ulaw": ("ulaw", 8000, 1), ".ul": ("ulaw", 8000, 1), ".mu": ("ulaw", 8000, 1),
    ".pcm": ("ulaw", 8000, 1),
    ".alaw": ("alaw", 8000, 1), ".al": ("alaw", 8000, 1),
    ".sln": ("sln", 16000, 2), ".raw": ("sln", 16000, 2),
    ".sln16": ("sln16", 32000, 2), ".sln48": ("sln48", 96000, 2),
    ".g722": ("g722", 8000, 1), ".g729": ("g729", 1000, 10),
}
_TAIL = 65536
_MP3_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


@dataclass(frozen=True)
class Probe:
    """The verdict on one file: ``duration_s`` in seconds of audio (None when corrupt)."""

    verdict: Verdict
    format: str
    duration_s: float | None = None
    detail: str = ""


def _corrupt(fmt: str, detail: str) -> Probe:
    return Probe("corrupt", fmt, None, detail)


def _audio(fmt: str, seconds: float) -> Probe:
    return Probe("ready" if seconds > 0 else "empty", fmt, seconds)


def probe(path: Path) -> Probe:
    """Recognise the file at ``path`` and say whether it is ready, empty or corrupt."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4096)
        if head[:4] == b"RIFF":
            return _probe_wav(fh, size)
        if head[:4] == b"OggS":
            fh.seek(max(0, size - _TAIL))
            return _probe_ogg(head, fh.read())
        if head[:3] == b"ID3" or path.suffix.lower() == ".mp3":
            return _probe_mp3(head, size)
    return _probe_raw(path.suffix.lower(), head, size)


def _probe_wav(fh: BinaryIO, size: int) -> Probe:
    fh.seek(0)
    riff = fh.read(12)
    if len(riff) < 12 or riff[8:12] != b"WAVE":
        return _corrupt("wav", "not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
        body = pos + 8
        if chunk_id == b"fmt ":
            raw = fh.read(16)
            if len(raw) < 16:
                return _corrupt("wav", "truncated fmt chunk")
            tag, channels, rate, byte_rate = struct.unpack("<HHII", raw[:12])
            fmt = (tag, channels, rate, byte_rate)
        elif chunk_id == b"data":
            return _wav_data(fmt, chunk_size, size - body)
        pos = body + chunk_size + (chunk_size & 1)
    return _corrupt("wav", "no data chunk")


def _wav_data(fmt: tuple[int, int, int, int] | None, declared: int, available: int) -> Probe:
    if fmt is None:
        return _corrupt("wav", "data before fmt chunk")
    tag, channels, rate, byte_rate = fmt
    name = "wav49" if tag == 0x31 else "wav"
    if channels < 1 or not 1000 <= rate <= 192000 or byte_rate == 0:
        return _corrupt(name, f"implausible format (channels {channels}, rate {rate})")
    if declared == 0xFFFFFFFF:  # written as a stream, never finalised: trust the file
        declared = available
    if declared > available:
        return _corrupt(name, f"truncated: header says {declared} data bytes, file has {available}")
    if declared == 0 and available > 0:
        return _corrupt(name, f"header not finalised: 0 data bytes declared, {available} present")
    return _audio(name, declared / byte_rate)


def _probe_ogg(head: bytes, tail: bytes) -> Probe:
    granule_rate: int | None = None
    pre_skip = 0
    if (i := head.find(b"\x01vorbis")) >= 0 and len(head) >= i + 16:
        granule_rate = struct.unpack_from("<I", head, i + 12)[0]
    elif (i := head.find(b"OpusHead")) >= 0 and len(head) >= i + 12:
        granule_rate, pre_skip = 48000, struct.unpack_from("<H", head, i + 10)[0]
    if not granule_rate:
        return _corrupt("ogg", "no Vorbis or Opus identification header")
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 14:
        return _corrupt("ogg", "no final Ogg page")
    granule = struct.unpack_from("<q", tail, last + 6)[0]
    if granule < 0:
        return _corrupt("ogg", "unfinished final Ogg page")
    return _audio("ogg", max(0, granule - pre_skip) / granule_rate)


def _mp3_sync(buf: bytes, at: int) -> bool:
    return len(buf) >= at + 4 and buf[at] == 0xFF and buf[at + 1] & 0xE0 == 0xE0


def _probe_mp3(head: bytes, size: int) -> Probe:
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        b = head[6:10]
        start = 10 + (b[0] << 21 | b[1] << 14 | b[2] << 7 | b[3])
    if start >= size:
        return _audio("mp3", 0.0)
    if start + 4 > len(head) or not _mp3_sync(head, start):
        return _corrupt("mp3", "no MPEG audio frame after the ID3 tag")
    h = head[start + 1 : start + 3]
    mpeg1 = (h[0] >> 3) & 0x3 == 0x3
    index = h[1] >> 4
    if index in (0, 15):
        return _corrupt("mp3", "free or bad bitrate in the first frame")
    kbps = (_MP3_BITRATES_V1 if mpeg1 else _MP3_BITRATES_V2)[index]
    return _audio("mp3", (size - start) * 8 / (kbps * 1000))


def _probe_raw(ext: str, head: bytes, size: int) -> Probe:
    known = RAW_BYTE_RATES.get(ext)
    if known is None:
        return _corrupt(ext.lstrip(".") or "unknown", "unrecognised audio format")
    name, byte_rate, frame = known
    if size % frame:
        return _corrupt(name, f"truncated: {size} bytes is not a whole number of "
                              f"{frame}-byte frames")
    if name == "gsm" and any(head[i] >> 4 != 0xD for i in range(0, len(head) - frame + 1,
                                                               frame)):
        return _corrupt(name, "not GSM 06.10 frames")
    return _audio(name, size / byte_rate)
