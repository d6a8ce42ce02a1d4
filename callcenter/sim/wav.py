"""Recording files: real WAV (8 kHz, 16-bit, mono) as MixMonitor writes them."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 8000
_TONE = b"".join(
    struct.pack("<h", int(800 * math.sin(2 * math.pi * 425 * i / RATE))) for i in range(RATE)
)


def write_wav(path: Path, seconds: float) -> int:
    """Write ``seconds`` of low-level tone to ``path`` (0 → a 44-byte header-only WAV).

    Returns the file size in bytes (44 + 16,000 per second).
    """
    frames = max(0, round(seconds * RATE))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        whole, rest = divmod(frames, RATE)
        for _ in range(whole):
            out.writeframes(_TONE)
        out.writeframes(_TONE[: rest * 2])
    return path.stat().st_size
