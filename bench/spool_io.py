"""Spool throughput: fsynced appends and a streaming read-back, against plain file writes.

The shape is the store writer's while PostgreSQL is away: one append per operation of up
to 500 journal entries, i.e. ``--appends`` payloads (default 2,000) of ``--size`` bytes
(default 150,000: about 375 entries of 400 bytes). Times, in the same run and directory:
the spool's appends (CRC framing, fsync after each), a baseline of plain buffered writes of
the same payloads to one file (no fsync: the floor any spool pays on top of), the same
writes with an fsync after each (``vs_fsync_baseline``: what durability alone costs), and
the spool's streaming read-back (read batches of 100, commit each, segments deleted). The
read comes from the page cache: it measures the spool's own cost, not the disk's.
Prints a table, then one JSON line: appends_per_s, reads_per_s, append_vs_baseline and more.

Run: ``python bench/spool_io.py [--appends N] [--size BYTES] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path

import structlog

from callcenter.store.spool import Spool


def make_payloads(size: int, distinct: int = 16, seed: int = 1) -> list[bytes]:
    """``distinct`` payloads of ``size`` bytes that look like JSON journal entries."""
    rng = random.Random(seed)
    out = []
    for _ in range(distinct):
        entry = b'{"server":"pbx1","linkedid":"%d.%d","event":"%s","data":"' % (
            rng.randrange(10**10), rng.randrange(10**4), rng.choice([b"QueueCallerJoin", b"Hangup"]))
        body = bytearray()
        while len(body) < size:
            body += entry + rng.randbytes(150).hex().encode()[: 400 - len(entry) - 3] + b'"}\n'
        out.append(bytes(body[:size]))
    return out


def plain_writes(path: Path, payloads: list[bytes], n: int, fsync: bool) -> float:
    """Seconds to write ``n`` payloads to one buffered file (fsync after each if asked)."""
    t0 = time.perf_counter()
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(payloads[i % len(payloads)])
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    elapsed = time.perf_counter() - t0
    path.unlink()
    return elapsed


def spool_appends(directory: Path, payloads: list[bytes], n: int) -> float:
    spool = Spool(directory, max_bytes=1 << 40)
    t0 = time.perf_counter()
    for i in range(n):
        spool.append(payloads[i % len(payloads)])
    elapsed = time.perf_counter() - t0
    spool.close()
    return elapsed


def spool_read(directory: Path, payloads: list[bytes], n: int, batch: int = 100) -> float:
    """Seconds to read back and commit everything (checked against what was appended)."""
    spool = Spool(directory, max_bytes=1 << 40)
    t0 = time.perf_counter()
    got = 0
    while records := spool.read(batch):
        for _, payload in records:
            if payload != payloads[got % len(payloads)]:
                raise SystemExit(f"record {got} differs")
            got += 1
        spool.commit(records[-1][0])
    elapsed = time.perf_counter() - t0
    if got != n or spool.depth:
        raise SystemExit(f"read {got} of {n} records, {spool.depth} left")
    spool.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=2_000)
    ap.add_argument("--size", type=int, default=150_000)
    ap.add_argument("--dir", default=None, help="where to write (default: the system temp dir)")
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    n, payloads = args.appends, make_payloads(args.size)
    mb = n * args.size / 1e6
    with tempfile.TemporaryDirectory(prefix="spool-bench-", dir=args.dir) as tmp:
        print(f"{n} payloads of {args.size:,} bytes ({mb:,.0f} MB) in {tmp}")
        base = plain_writes(Path(tmp) / "plain.bin", payloads, n, fsync=False)
        base_fsync = plain_writes(Path(tmp) / "plain.bin", payloads, n, fsync=True)
        append = spool_appends(Path(tmp) / "spool", payloads, n)
        read = spool_read(Path(tmp) / "spool", payloads, n)
    rows = [
        ("plain buffered", base),
        ("plain + fsync", base_fsync),
        ("spool append", append),
        ("spool read", read),
    ]
    for name, secs in rows:
        print(f"{name:>15}: {n / secs:>10,.0f} payloads/s  {mb / secs:>8,.0f} MB/s  ({secs:.2f} s)")
    r1, r2 = base / append, base_fsync / append
    print(f"{'ratios':>15}: spool append {r1:.2f}x plain buffered, {r2:.2f}x plain + fsync")
    print(
        json.dumps(
            {
                "appends_per_s": round(n / append),
                "reads_per_s": round(n / read),
                "append_vs_baseline": round(r1, 3),
                "append_vs_fsync_baseline": round(r2, 2),
                "payload_bytes": args.size,
                "append_mb_per_s": round(mb / append),
                "read_mb_per_s": round(mb / read),
            }
        )
    )


if __name__ == "__main__":
    main()
