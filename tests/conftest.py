"""Shared fixtures: a real PostgreSQL (CALLCENTER_TEST_DSN or embedded), traces."""

from __future__ import annotations

import asyncio
import contextlib
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


@pytest.fixture(scope="session")
def template_db(pg_server_dsn: str) -> Iterator[str]:
    """Name of a database migrated once per session, which ``fresh_dsn`` copies per test.

    The name is this session's own, so concurrent runs on one server never share one; it
    takes no connections, so a copy never finds it in use; it is dropped at the session's
    end. An event loop of its own runs its creation and removal.
    """
    loop = asyncio.new_event_loop()
    scratch = db.scratch_database(pg_server_dsn, "cc_template_", migrated=True)
    try:
        name = loop.run_until_complete(_seal_template(pg_server_dsn, scratch))
        yield name
        loop.run_until_complete(scratch.__aexit__(None, None, None))
    finally:
        loop.close()


async def _seal_template(server_dsn: str,
                         scratch: contextlib.AbstractAsyncContextManager[str]) -> str:
    """Create the migrated template and close it to connections; its name."""
    name = (await scratch.__aenter__()).partition("?")[0].rsplit("/", 1)[1]
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    finally:
        await admin.close()
    return name


@pytest.fixture
async def bare_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """A new, empty database (no schema) for one test, e.g. one that tests the migrations
    themselves; dropped afterwards."""
    async with db.scratch_database(pg_server_dsn, "cc_test_") as dsn:
        yield dsn


@pytest.fixture
async def fresh_dsn(pg_server_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A new migrated database for one test, copied from the session's template; dropped
    afterwards."""
    async with db.scratch_database(pg_server_dsn, "cc_test_", template=template_db) as dsn:
        yield dsn


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
