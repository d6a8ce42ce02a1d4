"""bench/reports.py runs end to end on a small N and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "reports.py"


# the bench's own subprocess timeout (300 s) fires first, with the bench's output
@pytest.mark.timeout(360)
def test_bench_small(pg_server_dsn: str) -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--calls", "3000", "--repeat", "1",
                           "--dsn", pg_server_dsn], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(last) == {"calls", "monthly_s", "plain_query_s"} and last["calls"] == 3000
    assert last["monthly_s"] > 0 and last["plain_query_s"] > 0
