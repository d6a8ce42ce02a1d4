"""Parser throughput: callcenter's AMIProtocol vs panoramisk vs two bare parsers.

Builds at least ``--frames`` frames (default 200,000) by repeating every frame
of the captures in tests/traces/, serializes them to AMI bytes, cuts the
stream into realistic reads (4096..65536 bytes, seeded) and times, in the same
run, these parsers over the same reads (best of ``--rounds``, interleaved): ours
(with its C accelerator when built), ours in pure Python, panoramisk's, a bare
``bytes.split`` parser (``vs_baseline``: the strictest, nothing but split and
partition) and the minimal asyncio ``readuntil(b"\\r\\n\\r\\n")`` reader
(``vs_readuntil``). Prints a table, then one JSON line: events, events_per_s, the
ratios, which parser ran (``parser``: c or python) and the pure-Python ratio to the bare
parser (``python_vs_baseline``).

Run: ``python bench/ami_parse.py [--frames N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callcenter.ami.protocol import (
    SPEEDUPS,
    AMIProtocol,
    Frame,
    parse_crlf_frames_py,
    serialize_frame,
)

TRACES = Path(__file__).resolve().parents[1] / "tests" / "traces"


def capture_frames() -> list[Frame]:
    """Every received frame of every capture, in file order."""
    frames: list[Frame] = []
    for path in sorted(TRACES.glob("*/*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            frames.extend(e["frame"] for e in map(json.loads, fh) if "frame" in e)
    return frames


def build_reads(n_frames: int, seed: int = 1) -> tuple[int, list[bytes]]:
    """(number of frames, the stream cut into reads of 4096..65536 bytes)."""
    base = capture_frames()
    wire = [serialize_frame(f) for f in base]
    copies = -(-n_frames // len(wire))
    data = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(wire) * copies
    rng = random.Random(seed)
    reads, pos = [], 0
    while pos < len(data):
        n = rng.randint(4096, 65536)
        reads.append(data[pos : pos + n])
        pos += n
    return len(wire) * copies, reads


def run_ours(reads: list[bytes]) -> int:
    proto = AMIProtocol()
    return sum(len(proto.feed(r)) for r in reads)


def run_ours_python(reads: list[bytes]) -> int:
    """Ours without the C accelerator (what runs where it could not be built)."""
    proto = AMIProtocol()
    proto._parse_crlf_frames = parse_crlf_frames_py  # type: ignore[method-assign]
    return sum(len(proto.feed(r)) for r in reads)


def run_baseline(reads: list[bytes]) -> int:
    """A bare asyncio.Protocol-style parser: split on blank lines, lines into a dict.

    It skips the banner and does nothing else (no bare LF, no repeated keys,
    no Follows, no limits).
    """
    buf, n = b"", 0
    first = True
    for data in reads:
        buf += data
        if first:
            buf = buf.partition(b"\r\n")[2]
            first = False
        parts = buf.split(b"\r\n\r\n")
        buf = parts.pop()
        for raw in parts:
            msg: dict[str, str] = {}
            for line in raw.decode("utf-8", "replace").split("\r\n"):
                key, _, value = line.partition(": ")
                msg[key] = value
            n += 1
    return n


def run_readuntil(reads: list[bytes]) -> int:
    """The minimal asyncio reader: ``StreamReader.readuntil(b"\\r\\n\\r\\n")`` per frame, then
    the same line split as :func:`run_baseline` (the reads are fed to the reader, no socket)."""

    async def parse() -> int:
        reader = asyncio.StreamReader(limit=1 << 20)
        for data in reads:
            reader.feed_data(data)
        reader.feed_eof()
        await reader.readuntil(b"\r\n")  # the banner
        n = 0
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return n
            msg: dict[str, str] = {}
            for line in raw[:-4].decode("utf-8", "replace").split("\r\n"):
                key, _, value = line.partition(": ")
                msg[key] = value
            n += 1

    return asyncio.run(parse())


def run_panoramisk(reads: list[bytes]) -> int:
    """panoramisk 1.x's own AMIProtocol.data_received, no socket."""
    from panoramisk.ami_protocol import AMIProtocol as PanoProtocol

    count = 0

    class Factory:
        forgetable_actions: tuple[str, ...] = ()
        awaiting_actions: tuple[str, ...] = ()

        def dispatch(self, message: Any) -> None:
            nonlocal count
            count += 1

    proto = PanoProtocol()
    proto.connection_made(None)
    proto.factory = Factory()
    for r in reads:
        proto.data_received(r)
    return count  # events only: unsolicited responses are dropped by panoramisk


def best_times(
    parsers: dict[str, Callable[[list[bytes]], int]], reads: list[bytes], rounds: int
) -> dict[str, tuple[float, int]]:
    """Best wall time (and frames delivered) of each parser over ``rounds``.

    The rounds are interleaved (A, B, C, A, B, C, ...) so that a slow spell of
    a shared machine weighs on every parser alike, not on one.
    """
    best: dict[str, tuple[float, int]] = {name: (float("inf"), 0) for name in parsers}
    for _ in range(rounds):
        for name, fn in parsers.items():
            t0 = time.perf_counter()
            n = fn(reads)
            best[name] = (min(best[name][0], time.perf_counter() - t0), n)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n_frames, reads = build_reads(args.frames)
    size = sum(map(len, reads))
    print(f"{n_frames} frames, {size / 1e6:.1f} MB in {len(reads)} reads of 4096..65536 bytes")
    print(f"callcenter's parser: {'C accelerator' if SPEEDUPS else 'pure Python (C accelerator not built)'}")
    parsers = {
        "callcenter": run_ours,
        "callcenter py": run_ours_python,
        "panoramisk": run_panoramisk,
        "baseline split": run_baseline,
        "readuntil": run_readuntil,
    }
    results = {}
    for name, (secs, got) in best_times(parsers, reads, args.rounds).items():
        results[name] = n_frames / secs
        print(f"{name:>15}: {n_frames / secs:>10,.0f} frames/s  ({secs:.3f} s, {got} delivered)")
    ours = results["callcenter"]
    r1 = ours / results["panoramisk"]
    r2 = ours / results["baseline split"]
    r3 = ours / results["readuntil"]
    r4 = results["callcenter py"] / results["baseline split"]
    print(f"{'ratios':>15}: {r1:.2f}x panoramisk, {r2:.2f}x baseline split, {r3:.2f}x readuntil")
    print(f"{'pure Python':>15}: {r4:.2f}x baseline split")
    print(
        json.dumps(
            {
                "events": n_frames,
                "events_per_s": round(ours),
                "vs_panoramisk": round(r1, 2),
                "vs_baseline": round(r2, 2),
                "vs_readuntil": round(r3, 2),
                "parser": "c" if SPEEDUPS else "python",
                "python_vs_baseline": round(r4, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
