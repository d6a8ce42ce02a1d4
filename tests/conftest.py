"""Shared fixtures: a real PostgreSQL (CALLCENTER_TEST_DSN or embedded), traces."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter import db

TRACES = Path(__file__).parent / "traces"


def load_trace(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a capture."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server: CALLCENTER_TEST_DSN, else an embedded one.

    The embedded server's data lives in a directory of its own, not under pytest's
    temporary directory: pytest removes old session directories when another session
    starts, which took the data away from under a running server in concurrent runs.
    """
    dsn = os.environ.get("CALLCENTER_TEST_DSN")
    if dsn:
        yield dsn
        return
    data_dir = tempfile.mkdtemp(prefix="callcenter-test-pg-")
    yield db.embedded_dsn(data_dir)
    db.stop_embedded(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def bare_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """A new, empty database (no schema) for one test; dropped afterwards."""
    async with db.scratch_database(pg_server_dsn, "cc_test_") as dsn:
        yield dsn


@pytest.fixture
async def fresh_dsn(bare_dsn: str) -> str:
    """A new, empty, migrated database for one test; dropped afterwards."""
    conn = await asyncpg.connect(bare_dsn)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()
    return bare_dsn


@pytest.fixture
async def pool(fresh_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on a fresh migrated database."""
    p = await db.create_pool(fresh_dsn)
    yield p
    await db.close_pool(p, 10.0)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium for Playwright browser tests, or skip with a message when absent."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    pytest.importorskip("playwright.async_api")
    return CHROMIUM
