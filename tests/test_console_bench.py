"""bench/call_search.py runs end to end on a small N and ends with its JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "call_search.py"


# the bench's own subprocess timeout (300 s) fires first, with the bench's output
@pytest.mark.timeout(360)
def test_bench_small(pg_server_dsn: str) -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(BENCH), "--calls", "3000", "--repeat", "1",
                           "--dsn", pg_server_dsn], capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(last) == {"calls", "p50_ms", "p95_ms", "baseline_p50_ms", "baseline_p95_ms"}
    assert last["calls"] == 3000 and 0 < last["p50_ms"] <= last["p95_ms"]
